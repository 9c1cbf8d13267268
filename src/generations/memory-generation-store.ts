import { randomFillSync } from 'node:crypto';
import type { GatewayError } from '../contracts/gateway-error.js';
import { FrameLog } from './frame-log.js';
import { generationErrors } from './generation-errors.js';
import type {
  Frame,
  GenerationInfo,
  GenerationLimits,
  GenerationReader,
  GenerationState,
  GenerationStore,
  ProducedGeneration,
} from './generation-types.js';
import { joinFrames } from './join-frames.js';

interface Entry {
  info: GenerationInfo;
  log: FrameLog;
  state: GenerationState;
  detached: boolean;
  stop: (reason: GatewayError) => void;
}

const ID_BYTES = 12;
/** Entropy drawn 4 kB at a time: one `randomBytes` call per id cost tens of µs, as much as a token's relay. */
const entropy = Buffer.alloc(ID_BYTES * 341);
let entropyUsed = entropy.length;

/** 96 random bits: unguessable, so an id alone never lets another client read a generation. */
export function newGenerationId(): string {
  if (entropyUsed + ID_BYTES > entropy.length) {
    randomFillSync(entropy);
    entropyUsed = 0;
  }
  const id = entropy.toString('hex', entropyUsed, entropyUsed + ID_BYTES);
  entropyUsed += ID_BYTES;
  return `gen_${id}`;
}

/**
 * Generations kept in this process: the producer's frames, for resumers on this instance and for a live
 * client that fell behind. Bounded per generation and in total; ended generations are forgotten after
 * their TTL. Entries stay in insertion order, so the oldest is always first.
 */
export class MemoryGenerationStore implements GenerationStore {
  private readonly entries = new Map<string, Entry>();
  private readonly running = new Map<string, string>();
  private readonly expiries = new Set<NodeJS.Timeout>();
  private totalBytes = 0;

  constructor(private readonly limits: GenerationLimits) {}

  /** Bytes of frames kept now, over every generation. */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  begin(info: Omit<GenerationInfo, 'id'>, stop: (reason: GatewayError) => void): ProducedGeneration {
    const entry: Entry = {
      info: { ...info, id: newGenerationId() },
      log: new FrameLog(),
      state: 'running',
      detached: false,
      stop,
    };
    const { id } = entry.info;
    this.entries.set(id, entry);
    if (info.conversationId !== undefined) this.running.set(info.conversationId, id);
    const sse = info.format === 'sse';
    const append = (frames: Frame[]): Frame => {
      const { log } = entry;
      if (sse)
        for (let index = 0; index < frames.length; index++)
          frames[index] = `id: ${id}-${log.lastSeq + index + 1}\n${frames[index]}`;
      const before = log.bytes;
      for (const frame of frames) log.append(frame);
      this.totalBytes += log.bytes - before;
      if (log.bytes > this.limits.perGenerationBytes)
        this.totalBytes -= log.evictTo(this.limits.perGenerationBytes);
      if (this.totalBytes > this.limits.totalBytes) this.shed(entry);
      return frames.length === 1 ? (frames[0] as Frame) : joinFrames(frames);
    };
    return {
      id,
      get lastSeq() {
        return entry.log.lastSeq;
      },
      get firstSeq() {
        return entry.log.firstSeq;
      },
      append: (frames) => {
        const out = append(frames);
        entry.log.wake();
        return out;
      },
      end: (state, frames) => {
        const out = append(frames);
        this.finish(entry, state);
        return out;
      },
      detached: () => {
        entry.detached = true;
      },
      delivered: () => {
        this.totalBytes -= entry.log.keepLast();
      },
      reader: () => this.readerOf(entry),
    };
  }

  async find(id: string): Promise<GenerationReader | undefined> {
    const entry = this.entries.get(id);
    return entry && this.readerOf(entry);
  }

  async findRunning(conversationId: string): Promise<GenerationReader | undefined> {
    const id = this.running.get(conversationId);
    return id === undefined ? undefined : this.find(id);
  }

  /** Stops this instance's producer; an ended generation stays as it is (stop is idempotent). */
  async stop(id: string, reason: GatewayError): Promise<boolean> {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    if (entry.state === 'running') entry.stop(reason);
    return true;
  }

  /** Whether this instance produces the generation now. */
  produces(id: string): boolean {
    return this.entries.get(id)?.state === 'running';
  }

  async close(): Promise<void> {
    for (const timer of this.expiries) clearTimeout(timer);
    this.expiries.clear();
  }

  private readerOf(entry: Entry): GenerationReader {
    return { info: entry.info, read: (after, signal) => entry.log.read(after, signal) };
  }

  private finish(entry: Entry, state: Exclude<GenerationState, 'running'>): void {
    entry.state = state;
    // The producer's call (and through it the request and its socket) must not outlive it for the TTL.
    entry.stop = () => {};
    entry.log.end();
    const { id, conversationId } = entry.info;
    if (conversationId !== undefined && this.running.get(conversationId) === id)
      this.running.delete(conversationId);
    const timer = setTimeout(() => {
      this.expiries.delete(timer);
      this.forget(entry);
    }, this.limits.ttlMs);
    timer.unref();
    this.expiries.add(timer);
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.info.id) !== entry) return;
    this.totalBytes -= entry.log.bytes;
    this.entries.delete(entry.info.id);
  }

  /**
   * Over the total: the frames of ended generations go first (oldest first; a resume asking for them gets
   * 410), then the oldest detached generations are stopped and emptied, and only then are the oldest frames
   * of generations whose client is still reading them dropped.
   */
  private shed(current: Entry): void {
    const over = () => this.totalBytes > this.limits.totalBytes;
    for (const entry of this.entries.values()) {
      if (!over()) return;
      if (entry.state !== 'running') this.totalBytes -= entry.log.evictTo(0);
    }
    for (const entry of this.entries.values()) {
      if (!over()) return;
      if (entry.state === 'running' && entry.detached && entry !== current) {
        entry.stop(generationErrors.memoryFull(this.limits.totalBytes));
        this.totalBytes -= entry.log.evictTo(0);
      }
    }
    for (const entry of this.entries.values()) {
      if (!over()) return;
      this.totalBytes -= entry.log.evictTo(
        Math.max(0, entry.log.bytes - (this.totalBytes - this.limits.totalBytes)),
      );
    }
  }
}
