import type { ServerResponse } from 'node:http';
import type { SimAbort } from './ollama-simulator.js';

export interface ExchangeHooks {
  onBytes(bytes: Buffer): void;
  onClientGone(phase: SimAbort['phase'], status: number): void;
  onSettled(): void;
}

const SPLIT_GAP_MS = 5;

/**
 * What every simulated response shares, whatever its framing: noticing that the client left (reported as a
 * load or stream abort), simulated delays that end when it does, writing, holding and splitting the body,
 * ending or dropping it, and settling exactly once.
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

  /** Body bytes produced but not written yet (coalescing or buffering write modes). */
  protected held: Buffer[] = [];
  protected heldBytes = 0;

  constructor(
    protected readonly res: ServerResponse,
    protected readonly hooks: ExchangeHooks,
    /** The headers of a 200 streamed body. */
    private readonly streamHeaders: Record<string, string>,
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

  protected hold(bytes: Buffer): void {
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  }

  protected async flush(): Promise<void> {
    if (this.heldBytes === 0) return;
    const all = Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    await this.write(all);
  }

  // Waiting for the write callback keeps ordering with a later destroy(): http responses cork the socket until
  // the next tick, so an immediate destroy would drop bytes the test expects the client to have received.
  protected write(bytes: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.res.headersSent) this.res.writeHead(200, this.streamHeaders);
    this.hooks.onBytes(bytes);
    const written = new Promise<void>((resolve) => this.res.write(bytes, () => resolve()));
    return Promise.race([written, this.untilClosed()]);
  }

  /** Writes `bytes` in three reads' worth, cut at `cuts`, with a short gap between them. */
  protected async writeInThree(bytes: Buffer, [a, b]: [number, number]): Promise<void> {
    await this.write(bytes.subarray(0, a));
    await this.delay(SPLIT_GAP_MS);
    await this.write(bytes.subarray(a, b));
    await this.delay(SPLIT_GAP_MS);
    await this.write(bytes.subarray(b));
  }

  /** Ends the body cleanly (chunked terminator) after flushing anything held. */
  async end(): Promise<void> {
    await this.flush();
    if (this.closed) return;
    this.finished = true;
    if (!this.res.headersSent) this.res.writeHead(200, this.streamHeaders);
    this.res.end();
    this.settle();
  }

  /** Drops the connection mid-response, like a crashed server or a proxy reset. */
  async destroy(): Promise<void> {
    await this.flush();
    if (this.closed) return;
    this.finished = true;
    this.res.destroy();
    this.settle();
  }

  /** A complete non-streamed response with Content-Length, as these servers send small JSON bodies. */
  send(status: number, contentType: string, body: string): void {
    if (this.closed) return;
    const bytes = Buffer.from(body, 'utf8');
    this.finished = true;
    this.res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length });
    this.hooks.onBytes(bytes);
    this.res.end(bytes);
    this.settle();
  }
}
