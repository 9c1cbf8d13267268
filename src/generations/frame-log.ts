import type { Frame, FrameRead } from './generation-types.js';

/**
 * The frames of one generation, numbered from 1, with the oldest evicted first when it is over its bytes.
 * Readers wait on it without polling: an append wakes every waiting reader once.
 */
export class FrameLog {
  /** Frames still kept; `frames[head]` is number `firstSeq`. */
  private frames: Frame[] = [];
  private head = 0;
  private waiters: Array<() => void> = [];
  firstSeq = 1;
  lastSeq = 0;
  bytes = 0;
  ended = false;

  append(frame: Frame): void {
    this.frames.push(frame);
    this.lastSeq++;
    this.bytes += frame.length;
  }

  /** Marks the end (the last frame appended was terminal) and wakes readers. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Wakes readers after a run of appends: one wake-up per batch, not per frame. */
  wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Drops the oldest frames until at most `limit` bytes are kept; returns the bytes freed. */
  evictTo(limit: number): number {
    let freed = 0;
    while (this.bytes > limit && this.head < this.frames.length) {
      const frame = this.frames[this.head] as Frame;
      this.frames[this.head] = '';
      this.head++;
      this.firstSeq++;
      this.bytes -= frame.length;
      freed += frame.length;
    }
    // Compact once the dropped slots are the larger part, so eviction stays O(1) per frame on average.
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return freed;
  }

  /** Drops every frame but the last; returns the bytes freed. */
  keepLast(): number {
    const last = this.frames[this.frames.length - 1];
    if (last === undefined || this.lastSeq < this.firstSeq) return 0;
    const freed = this.bytes - last.length;
    this.firstSeq = this.lastSeq;
    this.bytes = last.length;
    // A line is a view of the upstream read it came in: as text, it lets that read's buffer go (a Buffer copy
    // would come from Node's shared pool and hold a whole slab of it).
    this.frames = [typeof last === 'string' ? last : last.toString()];
    this.head = 0;
    return freed;
  }

  /** The frames after `after` available now; 'evicted' when some of those are no longer kept. */
  readNow(after: number): FrameRead | undefined {
    if (after + 1 < this.firstSeq && after < this.lastSeq) return 'evicted';
    if (after < this.lastSeq) {
      const start = this.head + (after + 1 - this.firstSeq);
      return { frames: this.frames.slice(start), end: this.ended };
    }
    return this.ended ? { frames: [], end: true } : undefined;
  }

  async read(after: number, signal: AbortSignal): Promise<FrameRead> {
    for (;;) {
      const now = this.readNow(after);
      if (now !== undefined) return now;
      if (signal.aborted) return { frames: [], end: false };
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
