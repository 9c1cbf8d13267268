import { commonBlocks } from './prefix-blocks.js';

/** What one of a host's slots is believed to hold: the prompt (and reply) of the request it ran last. */
export interface SlotEntry {
  blocks: Uint32Array;
  /** Monotonic time it was last used; 0 for a slot that never held anything. */
  usedAt: number;
  busy: boolean;
}

/** Where a request would go on one host, and what it would cost there. */
export interface SlotChoice {
  /** Leading blocks of the request the host already holds. */
  cached: number;
  /** The entry that will hold the request. */
  entry: SlotEntry;
  /**
   * Blocks of another conversation that placing the request here displaces: all of it, not just the part
   * past the shared prefix. Slots are the scarce thing (a handful per host), and a host with a free slot
   * takes a new conversation at no other's expense.
   */
  evicted: number;
  /** The entry's use time: the older, the cheaper its loss. */
  victimUsedAt: number;
}

/**
 * A shadow of one host's prompt cache for one model, as Ollama's runner keeps it: `slots` slots, each
 * holding one recent request. A request takes the idle slot with the longest common prefix; when that slot
 * holds more than the shared part (another conversation), the shared prefix is copied into the least
 * recently used idle slot instead, so the other conversation survives. llama.cpp's server behaves the same
 * for continued conversations, which is what affinity is for.
 */
export class SlotShadow {
  private readonly entries: SlotEntry[];

  constructor(slots: number) {
    this.entries = Array.from({ length: Math.max(1, slots) }, () => ({
      blocks: new Uint32Array(0),
      usedAt: 0,
      busy: false,
    }));
  }

  /** The slot a request would take, or undefined when every slot is busy. */
  choose(blocks: Uint32Array): SlotChoice | undefined {
    let best: SlotEntry | undefined;
    let bestCached = 0;
    let lru: SlotEntry | undefined;
    for (const entry of this.entries) {
      if (entry.busy) continue;
      if (lru === undefined || entry.usedAt < lru.usedAt) lru = entry;
      const cached = commonBlocks(entry.blocks, blocks);
      if (cached > bestCached) {
        bestCached = cached;
        best = entry;
      }
    }
    if (lru === undefined) return undefined;
    if (best !== undefined && bestCached === best.blocks.length) {
      // The request continues what the slot holds.
      return { cached: bestCached, entry: best, evicted: 0, victimUsedAt: best.usedAt };
    }
    // The runner serves it from the least recently used slot (into which it copies any shared prefix).
    return { cached: bestCached, entry: lru, evicted: lru.blocks.length, victimUsedAt: lru.usedAt };
  }

  /** The request starts on the chosen slot: from now on the slot holds at least its prompt. */
  occupy(choice: SlotChoice, blocks: Uint32Array, now: number): void {
    choice.entry.blocks = blocks;
    choice.entry.busy = true;
    choice.entry.usedAt = now;
  }

  /** The request ended; `blocks` is what the slot holds now (prompt and reply), when known. */
  release(entry: SlotEntry, now: number, blocks?: Uint32Array): void {
    entry.busy = false;
    entry.usedAt = now;
    if (blocks !== undefined) entry.blocks = blocks;
  }

  /** The model was unloaded: its slots hold nothing any more. */
  clear(): void {
    for (const entry of this.entries) {
      if (!entry.busy) {
        entry.blocks = new Uint32Array(0);
        entry.usedAt = 0;
      }
    }
  }
}
