import type { ServerResponse } from 'node:http';
import type { SimAbort } from './ollama-simulator.js';

export interface ExchangeHooks {
  onBytes(bytes: Buffer): void;
  onClientGone(phase: SimAbort['phase'], status: number): void;
  onSettled(): void;
}

/**
 * What every simulated response shares, whatever its framing: noticing that the client left (reported as a
 * load or stream abort), simulated delays that end when it does, and settling exactly once.
 */
export abstract class ExchangeLifecycle {
  closed = false;
  /** Chunks generated so far (written or still held): decides whether a disconnect counts as a load abort. */
  chunksProduced = 0;
  protected finished = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly closedPromise: Promise<void>;
  private resolveClosed: () => void = () => {};

  constructor(
    protected readonly res: ServerResponse,
    protected readonly hooks: ExchangeHooks,
  ) {
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    // 'close' also fires after a normal end; only an unfinished response means the client went away.
    res.on('close', () => {
      if (!this.finished && !res.writableFinished) this.clientGone();
    });
    if (!res.socket || res.socket.destroyed) this.clientGone();
  }

  private clientGone(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.wake?.();
    this.resolveClosed();
    this.hooks.onClientGone(
      this.chunksProduced === 0 ? 'load' : 'stream',
      this.res.headersSent ? this.res.statusCode : 499,
    );
    this.settle();
  }

  protected settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.hooks.onSettled();
  }

  /** Simulated work; cut short (timer cleared) when the client leaves so nothing keeps running for nobody. */
  delay(ms = 0): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  untilClosed(): Promise<void> {
    return this.closedPromise;
  }
}
