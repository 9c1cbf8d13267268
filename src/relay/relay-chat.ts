import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ChatChunk, ChunkBatch, DoneChunk } from '../contracts/chat-chunk.js';
import type { ChatRequest } from '../contracts/chat-request.js';
import { GatewayError } from '../contracts/gateway-error.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import type { ActiveCalls } from './active-calls.js';
import type { RelayStats } from './relay-stats.js';
import { type RelayTimeouts, UpstreamCall } from './upstream-call.js';
import { waitForDrain } from './wait-for-drain.js';

export interface RelayDeps {
  upstream: ChatUpstream;
  timeouts: RelayTimeouts;
  activeCalls: ActiveCalls;
}

/** A downstream wire format for streams. Stateful encoders (ids, "role on the first chunk") are per request. */
export interface StreamEncoder {
  contentType: string;
  /** One write for the chunks of one upstream read; the batch with the `done` chunk closes the stream. */
  batch(batch: ChunkBatch): Buffer | string;
  /** The in-band end of a stream that failed after its status was sent. */
  errorLine(error: GatewayError): string;
  /** Something the client ignores, sent while the first token is slow; absent = the format has none. */
  keepAlive?(): string;
}

/**
 * Relays one streamed reply. Status and headers wait for the first upstream chunk, so a failure before it is
 * thrown as a GatewayError for the route's error handler, with its true status. The exception is a format
 * with keep-alives: once the first is sent, the stream is committed. From then on every early end becomes
 * the encoder's error line, so the client never sees a silently truncated stream.
 */
export async function relayStream(
  deps: RelayDeps,
  options: {
    request: ChatRequest;
    reply: FastifyReply;
    encoder: StreamEncoder;
    keepAliveMs?: number;
    /** Sees every batch before it is written (conversations record the reply with it). */
    observe?: (batch: ChunkBatch) => void;
  },
): Promise<StreamOutcome> {
  const { reply, encoder } = options;
  const response = reply.raw;
  const stats = reply.request.relayStats;
  const call = new UpstreamCall(deps.upstream, deps.timeouts, response, deps.activeCalls);
  noteCall(stats, call, options.request);
  let committed = false;
  const commit = () => {
    if (committed) return;
    committed = true;
    reply.hijack();
    response.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': encoder.contentType,
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
  };
  const keepAlive = encoder.keepAlive;
  const pinger =
    keepAlive && options.keepAliveMs
      ? setInterval(() => {
          commit();
          response.write(keepAlive());
        }, options.keepAliveMs)
      : undefined;

  let batch: ChunkBatch | undefined;
  try {
    try {
      await call.open(options.request, stats);
      batch = await call.next();
    } finally {
      clearInterval(pinger);
      nameUpstream(reply, stats);
    }
    stats.ttftMs = call.firstChunkMs;
    commit();
    while (batch !== undefined) {
      const last = batch[batch.length - 1];
      stats.chunks += batch.length;
      options.observe?.(batch);
      const flushed = response.write(encoder.batch(batch));
      stats.firstWriteAt ??= performance.now();
      if (last?.type === 'done') {
        stats.tokens = last.usage.completionTokens;
        stats.promptTokens = last.usage.promptTokens;
        response.end();
        void call.finish();
        return { ok: true, done: last };
      }
      if (!flushed) await drained(call, response);
      batch = await call.next();
    }
    throw new GatewayError('upstream_protocol_error', 502, 'upstream sent no chunks');
  } catch (error) {
    call.dispose();
    stats.failure = error;
    if (!committed) throw error;
    const failure = error as GatewayError;
    if (failure.code === 'client_closed') {
      response.destroy();
    } else {
      stats.error = failure.message;
      response.end(encoder.errorLine(failure));
    }
    return { ok: false, error: failure };
  }
}

/** How a committed stream ended; failures before the commit are thrown instead. */
export type StreamOutcome = { ok: true; done: DoneChunk } | { ok: false; error: GatewayError };

/** Reads a whole reply for a non-streaming client; any failure throws before anything was sent. */
export async function relayCollect(
  deps: RelayDeps,
  options: { request: ChatRequest; reply: FastifyReply },
): Promise<ChatChunk[]> {
  const stats = options.reply.request.relayStats;
  const call = new UpstreamCall(deps.upstream, deps.timeouts, options.reply.raw, deps.activeCalls);
  noteCall(stats, call, options.request);
  const chunks: ChatChunk[] = [];
  try {
    try {
      await call.open(options.request, stats);
    } finally {
      nameUpstream(options.reply, stats);
    }
    for (;;) {
      const batch = await call.next();
      if (batch === undefined)
        throw new GatewayError('upstream_protocol_error', 502, 'upstream sent no chunks');
      chunks.push(...batch);
      stats.chunks += batch.length;
      const last = batch[batch.length - 1];
      if (last?.type === 'done') {
        stats.ttftMs = call.firstChunkMs;
        stats.tokens = last.usage.completionTokens;
        stats.promptTokens = last.usage.promptTokens;
        break;
      }
    }
  } catch (error) {
    call.dispose();
    stats.failure = error;
    throw error;
  }
  void call.finish();
  return chunks;
}

/** The model asked for and when the upstream was called, for the metrics' timings. */
function noteCall(stats: RelayStats, call: UpstreamCall, request: ChatRequest): void {
  stats.model = request.model;
  stats.upstreamCalledAt = call.startedAt;
}

/** Says which host answered (or failed), on the reply and on an error before it alike. */
function nameUpstream(reply: FastifyReply, stats: RelayStats): void {
  if (stats.upstream !== undefined && !reply.sent) reply.header('chatwire-upstream', stats.upstream);
}

/** Pauses the idle deadline while the client is slow to read (see UpstreamCall.pauseIdle). */
async function drained(call: UpstreamCall, response: FastifyReply['raw']): Promise<void> {
  call.pauseIdle();
  try {
    await waitForDrain(response);
  } finally {
    call.resumeIdle();
  }
}
