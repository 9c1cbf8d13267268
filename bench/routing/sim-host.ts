import { COLD_LOAD_MS, GEN_TOKENS_PER_S, PROMPT_TOKENS_PER_S, SLOTS_PER_MODEL } from './constants.js';
import type { SimRequest } from './request.js';

interface Slot {
  tokens: Int32Array;
  usedAt: number;
  busy: boolean;
}

interface LoadedModel {
  slots: Slot[];
  /** When the weights are in memory; in the future while the model loads. */
  readyAt: number;
  lastUsed: number;
  /** Streams of this model running now: a model with any cannot be unloaded. */
  active: number;
}

/** A slot idle for less than this is a conversation between two calls of one turn: it is about to return. */
export const HOT_SLOT_MS = 3_000;

function commonPrefix(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * An Ollama host: `maxStreams` parallel streams, up to `modelCap` models loaded (the least recently used idle
 * one unloaded for a new one, its slots lost), SLOTS_PER_MODEL prompt-cache slots per model, and one FIFO
 * queue. As Ollama's scheduler does, a request that needs a model swapped in waits at the head of the queue
 * until the model to unload has no stream left, and holds up everything behind it meanwhile.
 */
export class SimHost {
  readonly models = new Map<string, LoadedModel>();
  readonly queue: SimRequest[] = [];
  running = 0;
  coldLoads = 0;
  /** Slots overwritten while holding another conversation, and those of them idle under HOT_SLOT_MS. */
  evictions = 0;
  hotEvictions = 0;
  private readonly runningRequests = new Set<SimRequest>();
  /** Integral of (running + queued) over simulated time, and its peak. */
  assignedArea = 0;
  peakAssigned = 0;
  private lastChange = 0;

  constructor(
    readonly index: number,
    readonly maxStreams: number,
    readonly modelCap: number,
  ) {}

  get assigned(): number {
    return this.running + this.queue.length;
  }

  /** When a stream next frees up here (now, if one is free). */
  nextFreeAt(now: number): number {
    if (this.running < this.maxStreams) return now;
    let soonest = Number.POSITIVE_INFINITY;
    for (const request of this.runningRequests) soonest = Math.min(soonest, request.endMs);
    return soonest;
  }

  loadedModels(): string[] {
    return [...this.models.keys()];
  }

  isLoaded(model: string): boolean {
    return this.models.has(model);
  }

  /** Takes a request into the queue; returns those that start now (their times filled in). */
  submit(request: SimRequest, now: number): SimRequest[] {
    this.account(now);
    this.queue.push(request);
    this.peakAssigned = Math.max(this.peakAssigned, this.assigned);
    return this.drain(now);
  }

  /** A stream ended: its slot keeps the prompt and reply. Returns the requests that start in its place. */
  end(request: SimRequest, now: number): SimRequest[] {
    this.account(now);
    const model = this.models.get(request.model);
    const slot = this.slotOf.get(request.id);
    this.slotOf.delete(request.id);
    if (model !== undefined && slot !== undefined) {
      slot.busy = false;
      slot.usedAt = now;
      slot.tokens = request.full;
      model.active--;
    }
    this.running--;
    this.runningRequests.delete(request);
    return this.drain(now);
  }

  /** Settles the in-flight integral up to `now`; the report calls it once more at the end. */
  account(now: number): void {
    this.assignedArea += this.assigned * (now - this.lastChange);
    this.lastChange = now;
  }

  private readonly slotOf = new Map<number, Slot>();

  private drain(now: number): SimRequest[] {
    const started: SimRequest[] = [];
    while (this.queue.length > 0 && this.running < this.maxStreams) {
      const request = this.queue[0] as SimRequest;
      const loadedBefore = this.models.has(request.model);
      const model = this.modelFor(request.model, now);
      if (model === undefined) break;
      this.queue.shift();
      this.start(request, model, !loadedBefore || model.readyAt > now, now);
      started.push(request);
    }
    return started;
  }

  private modelFor(name: string, now: number): LoadedModel | undefined {
    const present = this.models.get(name);
    if (present !== undefined) return present;
    if (this.models.size >= this.modelCap) {
      let victim: string | undefined;
      let victimUsed = Number.POSITIVE_INFINITY;
      for (const [other, state] of this.models) {
        if (state.active === 0 && state.lastUsed < victimUsed) {
          victim = other;
          victimUsed = state.lastUsed;
        }
      }
      if (victim === undefined) return undefined;
      this.models.delete(victim);
    }
    const slots = Array.from({ length: SLOTS_PER_MODEL }, () => ({
      tokens: new Int32Array(0),
      usedAt: 0,
      busy: false,
    }));
    const model: LoadedModel = { slots, readyAt: now + COLD_LOAD_MS, lastUsed: now, active: 0 };
    this.models.set(name, model);
    this.coldLoads++;
    return model;
  }

  private start(request: SimRequest, model: LoadedModel, cold: boolean, now: number): void {
    const { slot, cached } = this.takeSlot(model, request.prompt, now);
    slot.busy = true;
    slot.usedAt = now;
    slot.tokens = request.prompt;
    this.slotOf.set(request.id, slot);
    model.active++;
    model.lastUsed = now;
    this.running++;
    this.runningRequests.add(request);
    // The runner always evaluates at least the last prompt token, to get the first token's logits.
    const evaluated = Math.max(1, request.prompt.length - cached);
    const evalStart = Math.max(now, model.readyAt);
    request.host = this.index;
    request.startMs = now;
    request.coldLoad = cold;
    request.cachedTokens = request.prompt.length - evaluated;
    request.evaluatedTokens = evaluated;
    request.firstTokenMs = evalStart + (evaluated / PROMPT_TOKENS_PER_S) * 1000;
    request.endMs =
      request.firstTokenMs + ((request.full.length - request.prompt.length) / GEN_TOKENS_PER_S) * 1000;
  }

  /**
   * Ollama's slot choice: the idle slot with the longest common prefix, unless it holds more than that prefix
   * and is not the least recently used idle slot; then the prefix is copied into the LRU slot, which serves the
   * request, and the other conversation keeps its slot.
   */
  private takeSlot(model: LoadedModel, prompt: Int32Array, now: number): { slot: Slot; cached: number } {
    let best: Slot | undefined;
    let bestLength = -1;
    let lru: Slot | undefined;
    for (const slot of model.slots) {
      if (slot.busy) continue;
      if (lru === undefined || slot.usedAt < lru.usedAt) lru = slot;
      const length = commonPrefix(slot.tokens, prompt);
      if (length > bestLength) {
        best = slot;
        bestLength = length;
      }
    }
    if (best === undefined || lru === undefined) throw new Error('no idle slot: more streams than slots');
    const copy = best.tokens.length > bestLength && best !== lru;
    const slot = copy ? lru : best;
    // Whatever the serving slot held beyond the request's own prefix is another conversation, now lost.
    if (slot.tokens.length > (copy ? commonPrefix(lru.tokens, prompt) : bestLength)) {
      this.evictions++;
      if (now - slot.usedAt < HOT_SLOT_MS) this.hotEvictions++;
    }
    if (copy) lru.tokens = best.tokens.subarray(0, bestLength);
    return { slot, cached: bestLength };
  }
}
