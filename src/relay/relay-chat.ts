import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ChatChunk, ChunkBatch, DoneChunk } from '../contracts/chat-chunk.js';
import type { ChatRequest } from '../contracts/chat-request.js';
import { GatewayError } from '../contracts/gateway-error.js';
import { disconnectPolicy } from '../generations/disconnect-policy.js';
import { generationErrors } from '../generations/generation-errors.js';
import type {
  DisconnectPolicy,
  Frame,
  FrameFormat,
  GenerationStore,
  ProducedGeneration,
} from '../generations/generation-types.js';
import { pumpFrames } from '../generations/pump-frames.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import type { ActiveCalls } from './active-calls.js';
import type { RelayStats } from './relay-stats.js';
import { type RelayTimeouts, UpstreamCall } from './upstream-call.js';
import { waitForDrain } from './wait-for-drain.js';

export interface RelayDeps {
  upstream: ChatUpstream;
  timeouts: RelayTimeouts;
  activeCalls: ActiveCalls;
  /** Where every streamed reply's frames are kept for resumers. */
  generations: GenerationStore;
  /** How long a detached generation may run on after its client left. */
  detachMs: number;
}

/** A downstream wire format for streams. Stateful encoders (ids, "role on the first chunk") are per request. */
export interface StreamEncoder {
  contentType: string;
  /** How frames are delimited: NDJSON lines, or SSE events (which carry their number as `id:`). */
  format: FrameFormat;
  /** The frames for the chunks of one upstream read, one per line or event the client sees. */
  frames(batch: ChunkBatch): Frame[];
  /** The in-band end of a stream that failed after its status was sent. */
  errorLine(error: GatewayError): string;
  /** Something the client ignores, sent while the first token is slow; absent = the format has none. */
  keepAlive?(): string;
}

/**
 * Relays one streamed reply, as a generation (`chatwire-generation-id`) whose frames are kept for resumers.
 * Status and headers wait for the first upstream chunk, so a failure before it is thrown as a GatewayError
 * for the route's error handler, with its true status. The exception is a format with keep-alives: once the
 * first is sent, the stream is committed. From then on every early end becomes the encoder's error line, so
 * the client never sees a silently truncated stream.
 *
 * The live client is written to directly. With policy `abort` its backpressure pauses the upstream and its
 * leaving aborts it, as before generations existed. With `detach` the call no longer depends on the
 * response: a slow client is served from the log at its own pace, and one that leaves lets the reply finish.
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
    /**
     * Awaited before the done frame goes out: a conversation records the reply complete here, so that a
     * client holding the done line never finds it interrupted after a crash.
     */
    beforeDone?: (done: DoneChunk) => Promise<void>;
    /** `abort` unless the request asks otherwise (chatwire-on-disconnect). */
    defaultPolicy?: DisconnectPolicy;
    conversationId?: string;
  },
): Promise<StreamOutcome> {
  const { reply, encoder } = options;
  const policy = disconnectPolicy(reply.request.headers, options.defaultPolicy ?? 'abort');
  const response = reply.raw;
  const stats = reply.request.relayStats;
  const call = new UpstreamCall(deps.upstream, deps.timeouts, response, deps.activeCalls);
  noteCall(stats, call, options.request);
  let generation: ProducedGeneration | undefined;
  let generationOver: (() => void) | undefined;
  /** The live client is written to directly; false once it left, or while it catches up from the log. */
  let direct = true;
  const commit = (): ProducedGeneration => {
    if (generation !== undefined) return generation;
    const produced = deps.generations.begin(
      {
        owner: reply.request.apiKey?.id ?? null,
        format: encoder.format,
        policy,
        ...(options.conversationId !== undefined && { conversationId: options.conversationId }),
      },
      (reason) => call.abort(reason),
    );
    generation = produced;
    reply.hijack();
    response.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': encoder.contentType,
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      [GENERATION_HEADER]: produced.id,
    });
    if (policy === 'detach') {
      stats.outlives = new Promise((resolve) => {
        generationOver = resolve;
      });
      call.detach(
        () => {
          direct = false;
          produced.detached();
        },
        deps.detachMs,
        () => generationErrors.detachTimeout(deps.detachMs),
      );
    }
    return produced;
  };
  /** A detached generation's client that cannot take more now reads the rest from the log instead. */
  const catchUp = (produced: ProducedGeneration) => {
    direct = false;
    const from = produced.lastSeq;
    void pumpFrames(produced.reader(), response, from, deps.timeouts.sendMs).catch(() => response.destroy());
  };
  const keepAlive = encoder.keepAlive;
  const pinger =
    keepAlive && options.keepAliveMs
      ? setInterval(() => {
          commit();
          if (direct) response.write(keepAlive());
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
    const produced = commit();
    while (batch !== undefined) {
      const last = batch[batch.length - 1];
      stats.chunks += batch.length;
      options.observe?.(batch);
      const frames = encoder.frames(batch);
      if (last?.type === 'done') {
        // Before the end: the limits charge the tokens as the response's last bytes are handed over.
        stats.tokens = last.usage.completionTokens;
        stats.promptTokens = last.usage.promptTokens;
        if (options.beforeDone !== undefined) await options.beforeDone(last);
        const out = produced.end('done', frames);
        if (direct) {
          response.end(out);
          if (policy === 'abort') produced.delivered();
        }
        stats.firstWriteAt ??= performance.now();
        void call.finish();
        return { ok: true, done: last };
      }
      const out = produced.append(frames);
      if (direct) {
        const flushed = response.write(out);
        stats.firstWriteAt ??= performance.now();
        if (!flushed) {
          if (policy === 'abort') await drained(call, response, deps.timeouts.sendMs);
          else catchUp(produced);
        }
      }
      batch = await call.next();
    }
    throw new GatewayError('upstream_protocol_error', 502, 'upstream sent no chunks');
  } catch (error) {
    call.dispose();
    stats.failure = error;
    if (generation === undefined) throw error;
    const failure = error as GatewayError;
    const out = generation.end(endStateOf(failure), [encoder.errorLine(failure)]);
    if (failure.code === 'client_closed') {
      response.destroy();
    } else {
      stats.error = failure.message;
      if (direct) response.end(out);
    }
    return { ok: false, error: failure };
  } finally {
    generationOver?.();
  }
}

export const GENERATION_HEADER = 'chatwire-generation-id';

function endStateOf(error: GatewayError): 'failed' | 'stopped' {
  return error.code === 'generation_stopped' || error.code === 'client_closed' ? 'stopped' : 'failed';
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
async function drained(call: UpstreamCall, response: FastifyReply['raw'], sendMs: number): Promise<void> {
  call.pauseIdle();
  try {
    await waitForDrain(response, sendMs);
  } finally {
    call.resumeIdle();
  }
}
