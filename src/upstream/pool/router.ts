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
   * What the host reports loaded (`/api/ps`). A model neither loaded nor served recently has lost its
   * prompt cache with its memory.
   */
  setLoaded(models: Iterable<string>, now: number): void {
    this.loaded = new Set(models);
    for (const [model, shadow] of this.shadows) {
      if (!this.isWarm(model, now)) shadow.clear();
    }
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
}

export interface RouteRequest {
  model: string;
  /** The request's conversation as prefix blocks (see PrefixHasher). */
  blocks: Uint32Array;
  /** A stored conversation's id: with nothing else to choose by, its requests keep to one host. */
  affinityKey?: string | undefined;
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
  ) {}

  /**
   * The stream ended. `blocks`, when given, is the conversation the slot now holds (prompt and reply);
   * a failed request passes none and leaves the prompt it had.
   */
  finish(now: number, blocks?: Uint32Array): void {
    if (this.finished) return;
    this.finished = true;
    this.host.inFlight--;
    if (blocks !== undefined) this.host.markServed(this.model, now);
    if (this.entry !== undefined) this.host.shadow(this.model).release(this.entry, now, blocks);
  }
}

/**
 * Picks the host for a request among the eligible ones (healthy, serving the model, with room):
 * the one whose slots hold the longest prefix of it, net of what it would evict and of a cold load, but
 * only among hosts at most BALANCE_SLACK_STREAMS busier than the least busy, so that a shared system
 * prompt, or one hot conversation, never piles everything onto one host. Ties go to the less busy host,
 * then to the one whose slot to overwrite is oldest, then to the conversation's own host by rendezvous
 * hashing, or in turn. Undefined when every eligible host is full.
 */
export class Router {
  private turn = 0;

  route(eligible: readonly RoutedHost[], request: RouteRequest, now: number): Placement | undefined {
    let minLoad = Number.POSITIVE_INFINITY;
    for (const host of eligible) if (!host.full && host.load < minLoad) minLoad = host.load;
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
      if (host.load > minLoad + slack + 1e-9) continue;
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
    if (best === undefined) return undefined;
    const { host, choice, warm } = best;
    host.inFlight++;
    if (choice !== undefined) host.shadow(request.model).occupy(choice, request.blocks, now);
    return new Placement(host, request.model, choice?.cached ?? 0, warm, choice?.entry);
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
