import type { ServerResponse } from 'node:http';
import type { ChunkBatch } from '../contracts/chat-chunk.js';
import type { ChatRequest } from '../contracts/chat-request.js';
import { GatewayError, isGatewayError } from '../contracts/gateway-error.js';
import type { ChatUpstream, RouteNote } from '../upstream/chat-upstream.js';
import type { ActiveCalls } from './active-calls.js';
import { relayErrors } from './relay-errors.js';

export interface RelayTimeouts {
  firstTokenMs: number;
  idleMs: number;
  /** 0 = no total limit. */
  totalMs: number;
  /** How long a client may leave its socket's buffer full before it is taken as gone (see waitForDrain). */
  sendMs: number;
}

/**
 * One upstream chat request and its deadlines. Every way it can end early (a timeout, the client leaving,
 * shutdown) aborts the upstream request with a GatewayError as the reason, and `next()` throws that error,
 * so callers see one kind of failure whatever the cause.
 */
export class UpstreamCall {
  readonly startedAt = performance.now();
  /** Milliseconds from start to the first chunk, once it has arrived. */
  firstChunkMs: number | undefined;
  private readonly controller = new AbortController();
  private iterator: AsyncIterator<ChunkBatch> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private firstTokenTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private idlePaused = false;
  private onClientClose = () => {
    if (!this.response.writableFinished) this.abort(relayErrors.clientClosed());
  };

  constructor(
    private readonly upstream: ChatUpstream,
    private readonly timeouts: RelayTimeouts,
    private readonly response: ServerResponse,
    private readonly activeCalls: ActiveCalls,
  ) {
    activeCalls.add(this);
    response.once('close', this.onClientClose);
    this.firstTokenTimer = this.startTimer(timeouts.firstTokenMs, () =>
      relayErrors.firstTokenTimeout(upstream.label, upstream.baseUrl, timeouts.firstTokenMs),
    );
    if (timeouts.totalMs > 0)
      this.startTimer(timeouts.totalMs, () => relayErrors.totalTimeout(timeouts.totalMs));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `note` learns which host a pool chose, whether or not it then succeeds. */
  async open(request: ChatRequest, note?: RouteNote): Promise<void> {
    try {
      const chunks = await this.upstream.openChat(request, this.controller.signal, note);
      this.iterator = chunks[Symbol.asyncIterator]();
    } catch (error) {
      throw this.explain(error);
    }
  }

  /** The next batch of chunks, or undefined after the stream's final chunk. */
  async next(): Promise<ChunkBatch | undefined> {
    if (this.iterator === undefined) throw new Error('UpstreamCall.next() before open()');
    let result: IteratorResult<ChunkBatch>;
    try {
      result = await this.iterator.next();
    } catch (error) {
      throw this.explain(error);
    }
    if (result.done) return undefined;
    if (this.firstChunkMs === undefined) {
      this.firstChunkMs = performance.now() - this.startedAt;
      this.clearTimer(this.firstTokenTimer);
      this.idleTimer = this.startTimer(this.timeouts.idleMs, () =>
        this.idlePaused ? undefined : relayErrors.idleTimeout(this.upstream.label, this.timeouts.idleMs),
      );
    } else {
      this.idleTimer?.refresh();
    }
    return result.value;
  }

  /** While the client is slow to read we stop reading upstream, which is no reason to call the upstream idle. */
  pauseIdle(): void {
    this.idlePaused = true;
  }

  resumeIdle(): void {
    this.idlePaused = false;
    this.idleTimer?.refresh();
  }

  /**
   * From now on the client leaving no longer aborts the upstream: `onLeft` is told instead, and the call
   * goes on for at most `maxMs` more (then it is aborted with `reason`), so a reply nobody reads is bounded.
   */
  detach(onLeft: () => void, maxMs: number, reason: () => GatewayError): void {
    this.response.off('close', this.onClientClose);
    this.onClientClose = () => {
      if (this.response.writableFinished) return;
      onLeft();
      this.startTimer(maxMs, reason);
    };
    if (this.response.destroyed) this.onClientClose();
    else this.response.once('close', this.onClientClose);
  }

  abort(reason: GatewayError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Releases timers and listeners; an unfinished upstream request is aborted. */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.response.off('close', this.onClientClose);
    this.activeCalls.delete(this);
    if (this.iterator !== undefined) {
      // Returning the iterator releases the upstream body; it resolves at once unless a read is pending.
      this.iterator.return?.().catch(() => {});
    }
  }

  /**
   * Drains what follows the final chunk, so the upstream connection returns to the keep-alive pool; the idle
   * deadline still bounds it.
   */
  async finish(): Promise<void> {
    try {
      while ((await this.next()) !== undefined) {}
    } catch {
      // The reply is complete; a failure after the final chunk changes nothing the client sees.
    } finally {
      this.dispose();
    }
  }

  private explain(error: unknown): GatewayError {
    if (this.controller.signal.aborted && isGatewayError(this.controller.signal.reason)) {
      return this.controller.signal.reason;
    }
    if (isGatewayError(error)) return error;
    return new GatewayError(
      'internal',
      500,
      `unexpected relay failure: ${(error as Error)?.message ?? error}`,
      {
        cause: error,
      },
    );
  }

  /** `reason` may decline (undefined) when the deadline no longer applies at the moment it fires. */
  private startTimer(ms: number, reason: () => GatewayError | undefined): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const error = reason();
      if (error) this.abort(error);
    }, ms);
    timer.unref();
    this.timers.push(timer);
    return timer;
  }

  private clearTimer(timer: NodeJS.Timeout | undefined): void {
    if (timer !== undefined) clearTimeout(timer);
  }
}
