import { GatewayError } from '../../contracts/gateway-error.js';

/** How long a client told "busy" should wait before trying again. */
const RETRY_AFTER_SECONDS = 1;

/**
 * A fixed number of slots (the context's sequences) shared by every stream, with a bounded line of waiters.
 * Slots are handed out most recently released first: a follow-up turn then often lands on the sequence
 * that still holds its conversation, and llama.cpp reuses the evaluated prefix.
 */
export class SequencePool<Slot> {
  private readonly free: Slot[] = [];
  private readonly waiters: Array<{ resolve: (slot: Slot) => void; reject: (error: unknown) => void }> = [];
  private created = 0;
  private busy = 0;
  /** The most slots ever in use at once. */
  peakActive = 0;

  constructor(
    private readonly size: number,
    private readonly maxWaiting: number,
    private readonly create: () => Slot,
  ) {}

  get active(): number {
    return this.busy;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** A free slot now, or once one is released; 503 when the line is full, the signal's reason if it aborts. */
  acquire(signal: AbortSignal): Promise<Slot> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const slot = this.take();
    if (slot !== undefined) return Promise.resolve(slot);
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(
        new GatewayError(
          'upstream_http_error',
          503,
          `embedded engine busy: ${this.size} ${this.size === 1 ? 'stream is' : 'streams are'} generating ` +
            `and ${this.waiters.length} waiting (CHATWIRE_PARALLEL, CHATWIRE_MAX_QUEUE); try again shortly`,
          { retryAfterSeconds: RETRY_AFTER_SECONDS },
        ),
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter = {
        resolve: (slot: Slot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject,
      };
      const onAbort = () => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next) {
      next.resolve(slot);
      return;
    }
    this.busy--;
    this.free.push(slot);
  }

  /** Fails everyone still waiting (the engine is closing). */
  rejectWaiting(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private take(): Slot | undefined {
    let slot = this.free.pop();
    if (slot === undefined && this.created < this.size) {
      slot = this.create();
      this.created++;
    }
    if (slot === undefined) return undefined;
    this.busy++;
    this.peakActive = Math.max(this.peakActive, this.busy);
    return slot;
  }
}
