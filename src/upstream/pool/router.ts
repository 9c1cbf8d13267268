import { type SlotChoice, type SlotEntry, SlotShadow } from './slot-shadow.js';

/**
 * What one decision weighs, in blocks of the rendered conversation (about 64 tokens each). A cold model
 * load costs seconds, about as long as reading 8k tokens of prompt on a modest GPU.
 */
const COLD_LOAD_BLOCKS = 128;
/**
 * Overwriting another conversation's cached blocks costs all of them while that conversation is likely to
 * come back (a chat's next turn follows within seconds to minutes), halving every minute it stays away.
 */
const EVICTION_HALF_LIFE_MS = 60_000;
/** A host may be this many streams busier than the least busy one (relative to its size) and still win on cache. */
const BALANCE_SLACK_STREAMS = 1;
/** A model served this recently counts as loaded, as Ollama keeps it for 5 minutes by default. */
export const WARM_FOR_MS = 5 * 60_000;
/**
 * A host that served another model this recently (or is serving one now) is in use for it: loading a
 * second model there may unload the first, and hosts that keep swapping models thrash.
 */
const OTHER_MODEL_ACTIVE_MS = 30_000;
/**
 * How long a request waits for a host where its model is warm, or one free to load it, before it may load
 * its model on a host that is in use for another.
 */
export const COLD_SPILL_MS = 15_000;
/**
 * A conversation that comes back within RAPID_FOLLOW_UP_MS of its last reply (an agent's next call after a
 * tool ran) and finds its host full waits this long for a stream there before it goes elsewhere: moving
 * costs it a re-read of its whole history, while its host frees a stream within seconds. A chat's next
 * turn comes after the user has read and typed, and does not wait.
 */
export const HOME_WAIT_MS = 10_000;
const RAPID_FOLLOW_UP_MS = 3_000;
/** Conversations whose host the router remembers (least recently routed forgotten first). */
const HOMES_REMEMBERED = 50_000;
/** When a waiting request's options widen, and so when the pool tries it again without being woken. */
export const PATIENCE_STEPS_MS = [HOME_WAIT_MS, COLD_SPILL_MS] as const;

export interface RouterHostOptions {
  name: string;
  /** Streams the host runs at once; Infinity for no limit. */
  maxStreams: number;
  /** Share of traffic relative to other hosts; 1 by default. */
  weight?: number;
  /** Prompt-cache slots per model; defaults to maxStreams (capped at 16). */
  slots?: number;
}

/** One host as the router sees it: load, warm models, and a shadow of its prompt cache per model. */
export class RoutedHost {
  readonly name: string;
  readonly maxStreams: number;
  readonly weight: number;
  inFlight = 0;
  private readonly slots: number;
  private readonly shadows = new Map<string, SlotShadow>();
  private readonly servedAt = new Map<string, number>();
  private loaded = new Set<string>();
  /** Streams in flight per model. */
  private readonly active = new Map<string, number>();

  constructor(options: RouterHostOptions) {
    this.name = options.name;
    this.maxStreams = options.maxStreams;
    this.weight = options.weight ?? 1;
    this.slots = options.slots ?? Math.min(16, Number.isFinite(options.maxStreams) ? options.maxStreams : 16);
  }

  get full(): boolean {
    return this.inFlight >= this.maxStreams;
  }

  /** In flight relative to what the host is for: 1 is "as busy as its share allows". */
  get load(): number {
    return Number.isFinite(this.maxStreams) ? this.inFlight / (this.maxStreams * this.weight) : 0;
  }

  isWarm(model: string, now: number): boolean {
    if (this.loaded.has(model)) return true;
    const served = this.servedAt.get(model);
    return served !== undefined && now - served < WARM_FOR_MS;
  }

  /**
   * What the host reports loaded (`/api/ps`), which is the truth: a model it no longer lists was unloaded,
   * however recently it served, and has lost its prompt cache with its memory.
   */
  setLoaded(models: Iterable<string>, _now: number): void {
    this.loaded = new Set(models);
    for (const model of this.servedAt.keys()) if (!this.loaded.has(model)) this.servedAt.delete(model);
    for (const [model, shadow] of this.shadows) if (!this.loaded.has(model)) shadow.clear();
  }

  shadow(model: string): SlotShadow {
    let shadow = this.shadows.get(model);
    if (shadow === undefined) {
      shadow = new SlotShadow(this.slots);
      this.shadows.set(model, shadow);
    }
    return shadow;
  }

  markServed(model: string, now: number): void {
    this.servedAt.set(model, now);
  }

  /** In use for a model other than `model`: streaming it now, or served it a moment ago. */
  busyWithOther(model: string, now: number): boolean {
    for (const [other, streams] of this.active) if (other !== model && streams > 0) return true;
    for (const [other, at] of this.servedAt)
      if (other !== model && now - at < OTHER_MODEL_ACTIVE_MS) return true;
    return false;
  }

  /** A stream of `model` starts (+1) or ends (-1) here. */
  count(model: string, change: 1 | -1): void {
    this.inFlight += change;
    this.active.set(model, (this.active.get(model) ?? 0) + change);
  }
}

export interface RouteRequest {
  model: string;
  /** The request's conversation as prefix blocks (see PrefixHasher). */
  blocks: Uint32Array;
  /** A stored conversation's id: with nothing else to choose by, its requests keep to one host. */
  affinityKey?: string | undefined;
}

/** Where a conversation was last served, and when its reply ended. */
interface Home {
  host: RoutedHost;
  repliedAt: number;
}

/** A request placed on a host: it holds a stream there until `finish`. */
export class Placement {
  private finished = false;
  constructor(
    readonly host: RoutedHost,
    readonly model: string,
    /** Leading blocks of the request the host is believed to hold. */
    readonly cachedBlocks: number,
    readonly warm: boolean,
    private readonly entry: SlotEntry | undefined,
    private readonly home?: Home,
  ) {}

  /**
   * The stream ended. `blocks`, when given, is the conversation the slot now holds (prompt and reply);
   * a failed request passes none and leaves the prompt it had.
   */
  finish(now: number, blocks?: Uint32Array): void {
    if (this.finished) return;
    this.finished = true;
    this.host.count(this.model, -1);
    if (blocks !== undefined) {
      this.host.markServed(this.model, now);
      if (this.home !== undefined) this.home.repliedAt = now;
    }
    if (this.entry !== undefined) this.host.shadow(this.model).release(this.entry, now, blocks);
  }
}

/**
 * Picks the host for a request among the eligible ones (healthy, serving the model, with room): only
 * hosts where the model is warm while there are any (a cold load costs more than a short wait), and
 * among them only those at most BALANCE_SLACK_STREAMS busier than the least busy, so that a shared
 * system prompt, or one hot conversation, never piles everything onto one host. Of those, the one whose
 * slots hold the longest prefix of the request wins, net of the conversation it would displace; a host
 * where that conversation is in mid-turn is passed over for a while. Ties go to the less busy host, then
 * to the one whose slot to overwrite is oldest, then to the conversation's own host by rendezvous
 * hashing, or in turn. Undefined when no host may take the request now: the caller waits and asks again.
 */
export class Router {
  private turn = 0;
  private readonly homes = new Map<string, Home>();

  /**
   * `waitedMs` is how long the request has waited for room so far: past COLD_SPILL_MS it may load its
   * model on a host that is in use for another.
   */
  route(
    eligible: readonly RoutedHost[],
    request: RouteRequest,
    now: number,
    waitedMs = 0,
  ): Placement | undefined {
    const key = request.affinityKey;
    const home = key === undefined ? undefined : this.homes.get(key);
    if (
      home?.host.full &&
      waitedMs < HOME_WAIT_MS &&
      now - home.repliedAt < RAPID_FOLLOW_UP_MS &&
      home.host.isWarm(request.model, now) &&
      eligible.includes(home.host)
    ) {
      return undefined;
    }
    const placed =
      this.pick(eligible, request, now, (host) => host.isWarm(request.model, now)) ??
      this.pick(
        eligible,
        request,
        now,
        (host) => waitedMs >= COLD_SPILL_MS || !host.busyWithOther(request.model, now),
      );
    if (placed === undefined) return undefined;
    const { host, choice, warm } = placed;
    host.count(request.model, 1);
    const record = key === undefined ? undefined : this.remember(key, host);
    if (choice !== undefined) host.shadow(request.model).occupy(choice, request.blocks, now);
    return new Placement(host, request.model, choice?.cached ?? 0, warm, choice?.entry, record);
  }

  private remember(key: string, host: RoutedHost): Home {
    const home: Home = { host, repliedAt: Number.NEGATIVE_INFINITY };
    this.homes.delete(key);
    this.homes.set(key, home);
    if (this.homes.size > HOMES_REMEMBERED) this.homes.delete(this.homes.keys().next().value as string);
    return home;
  }

  /** The best host with room among those `allowed`, within the balance bound among them. */
  private pick(
    eligible: readonly RoutedHost[],
    request: RouteRequest,
    now: number,
    allowed: (host: RoutedHost) => boolean,
  ): Candidate | undefined {
    let minLoad = Number.POSITIVE_INFINITY;
    for (const host of eligible) if (!host.full && host.load < minLoad && allowed(host)) minLoad = host.load;
    if (minLoad === Number.POSITIVE_INFINITY) return undefined;
    const affinity = request.affinityKey === undefined ? undefined : hashString(request.affinityKey);
    const offset = this.turn++;
    let best: Candidate | undefined;
    for (let index = 0; index < eligible.length; index++) {
      const host = eligible[(index + offset) % eligible.length] as RoutedHost;
      if (host.full) continue;
      const slack = Number.isFinite(host.maxStreams)
        ? BALANCE_SLACK_STREAMS / (host.maxStreams * host.weight)
        : 0;
      if (host.load > minLoad + slack + 1e-9 || !allowed(host)) continue;
      const warm = host.isWarm(request.model, now);
      const choice = host.shadow(request.model).choose(request.blocks);
      const candidate: Candidate = {
        host,
        choice,
        warm,
        score:
          (choice === undefined ? 0 : choice.cached - evictionCost(choice, now)) -
          (warm ? 0 : COLD_LOAD_BLOCKS),
        rank: affinity === undefined ? 0 : mix(affinity, host.name),
      };
      if (best === undefined || better(candidate, best)) best = candidate;
    }
    return best;
  }
}

function evictionCost(choice: SlotChoice, now: number): number {
  if (choice.evicted === 0) return 0;
  return choice.evicted * 2 ** (-(now - choice.victimUsedAt) / EVICTION_HALF_LIFE_MS);
}

interface Candidate {
  host: RoutedHost;
  choice: SlotChoice | undefined;
  warm: boolean;
  score: number;
  /** The host's rendezvous rank for the request's conversation; 0 without one. */
  rank: number;
}

/** Higher score; then the less busy host; then the older slot to overwrite; then the conversation's host. */
function better(a: Candidate, b: Candidate): boolean {
  if (a.score !== b.score) return a.score > b.score;
  if (a.host.load !== b.host.load) return a.host.load < b.host.load;
  const aUsed = a.choice?.victimUsedAt ?? 0;
  const bUsed = b.choice?.victimUsedAt ?? 0;
  if (aUsed !== bUsed) return aUsed < bUsed;
  return a.rank > b.rank;
}

function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Rendezvous weight of a key on a host: every instance ranks hosts for a key the same way. */
function mix(key: number, host: string): number {
  let hash = key;
  for (let i = 0; i < host.length; i++) hash = Math.imul(hash ^ host.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x2c1b3c6d);
  hash ^= hash >>> 12;
  return hash >>> 0;
}
