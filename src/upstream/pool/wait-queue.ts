import { GatewayError } from '../../contracts/gateway-error.js';

const RETRY_AFTER_SECONDS = 1;

interface Waiter<T> {
  tryTake: (waitedMs: number) => T | undefined;
  resolve: (value: T) => void;
  since: number;
}

/**
 * Requests waiting for a stream on a full pool, first come first served. Each waiter knows how to take
 * what it waits for (its own model's hosts), and may accept more the longer it has waited; `wake` offers
 * the room that just appeared to each in turn, and each is also tried again at the `patienceMs` steps.
 */
export class WaitQueue<T> {
  private readonly waiters: Waiter<T>[] = [];

  constructor(
    private readonly maxWaiting: number,
    private readonly timeoutMs: number,
    private readonly patienceMs: readonly number[] = [],
  ) {}

  get length(): number {
    return this.waiters.length;
  }

  /**
   * Waits until `tryTake` succeeds after a `wake`. 503 (with Retry-After) when the line is full or the
   * wait times out; the signal's reason if it aborts first. `describe` says what the request waited for.
   */
  wait(
    tryTake: (waitedMs: number) => T | undefined,
    signal: AbortSignal,
    describe: () => string,
  ): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(
        overloaded(`${describe()}, and ${this.waiters.length} requests are already waiting`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        for (const nudge of nudges) clearTimeout(nudge);
        signal.removeEventListener('abort', onAbort);
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
      };
      const waiter: Waiter<T> = {
        tryTake,
        since: performance.now(),
        resolve: (value) => {
          done();
          resolve(value);
        },
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        done();
        reject(overloaded(`${describe()}, and none had room within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      const nudges = this.patienceMs
        .filter((ms) => ms < this.timeoutMs)
        .map((ms) => {
          const nudge = setTimeout(() => this.offer(waiter), ms);
          nudge.unref();
          return nudge;
        });
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Room may have appeared: the oldest waiters that can take it, do. */
  wake(): void {
    for (const waiter of [...this.waiters]) this.offer(waiter);
  }

  private offer(waiter: Waiter<T>): void {
    if (!this.waiters.includes(waiter)) return;
    const taken = waiter.tryTake(performance.now() - waiter.since);
    if (taken !== undefined) waiter.resolve(taken);
  }
}

function overloaded(message: string): GatewayError {
  return new GatewayError(
    'overloaded',
    503,
    `${message} (CHATWIRE_MAX_QUEUE, CHATWIRE_QUEUE_TIMEOUT_MS); try again shortly`,
    { retryAfterSeconds: RETRY_AFTER_SECONDS },
  );
}
