import { Agent, type Dispatcher, request } from 'undici';
import type { ChunkBatch } from '../../contracts/chat-chunk.js';
import type { ChatRequest } from '../../contracts/chat-request.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { NdjsonDecoder } from '../../protocol/ndjson/ndjson-decoder.js';
import type { ChatUpstream, UpstreamModel } from '../chat-upstream.js';
import {
  connectionError,
  describeNetworkError,
  statusForUpstreamStatus,
  upstreamErrorMessage,
} from '../upstream-errors.js';
import { parseOllamaChunk } from './parse-ollama-chunk.js';
import { toOllamaChatBody } from './to-ollama-chat-body.js';

export interface OllamaUpstreamOptions {
  baseUrl: string;
  connections: number;
  connectTimeoutMs: number;
  lineLimitBytes: number;
  /** Replaces the keep-alive pool; tests use it to inject DNS and connect failures. */
  dispatcher?: Dispatcher;
}

const LABEL = 'Ollama';
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * The native Ollama API over one keep-alive pool. undici's own header and body timeouts are off: a cold
 * model load legitimately holds headers back for minutes, so the relay enforces first-token, idle and total
 * deadlines itself and aborts through the signal.
 */
export class OllamaUpstream implements ChatUpstream {
  readonly label = LABEL;
  readonly baseUrl: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly lineLimitBytes: number;

  constructor(options: OllamaUpstreamOptions) {
    this.baseUrl = options.baseUrl;
    this.lineLimitBytes = options.lineLimitBytes;
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.connections,
        headersTimeout: 0,
        bodyTimeout: 0,
        keepAliveTimeout: 30_000,
        connect: { timeout: options.connectTimeoutMs },
      });
  }

  async openChat(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChunkBatch>> {
    const body = JSON.stringify(toOllamaChatBody(request));
    const response = await this.send('/api/chat', { method: 'POST', body, signal });
    if (response.statusCode !== 200) {
      throw await this.httpError(response);
    }
    return readChunks(response.body, this.lineLimitBytes, signal);
  }

  /** The upstream's version, for readiness; any failure is a GatewayError saying why. */
  async version(signal: AbortSignal): Promise<string> {
    const parsed = (await this.getJson('/api/version', signal)) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  }

  async models(signal: AbortSignal): Promise<UpstreamModel[]> {
    const parsed = (await this.getJson('/api/tags', signal)) as { models?: unknown };
    const tags = Array.isArray(parsed.models) ? (parsed.models as Array<Record<string, unknown>>) : [];
    return tags.map((tag) => {
      const modifiedAt = Date.parse(String(tag.modified_at));
      return {
        id: String(tag.name ?? tag.model),
        ...(Number.isFinite(modifiedAt) && { created: Math.floor(modifiedAt / 1000) }),
        ownedBy: 'library',
        ollamaTag: tag,
      };
    });
  }

  /**
   * A native metadata call (`/api/show`, `/api/ps`) relayed for the Ollama-compatible API. Upstream error
   * statuses come back as values: these answers are Ollama's own and pass through unchanged.
   */
  async native(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<{ status: number; body: unknown }> {
    const response = await this.send(path, {
      method,
      signal,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await readBounded(response.body, ERROR_BODY_LIMIT * 16);
    if (response.statusCode >= 400) {
      const message = upstreamErrorMessage(LABEL, response.statusCode, text);
      return { status: statusForUpstreamStatus(response.statusCode), body: { error: message } };
    }
    try {
      return { status: response.statusCode, body: JSON.parse(text) };
    } catch {
      throw new GatewayError(
        'upstream_protocol_error',
        502,
        `${LABEL} answered ${path} with a body that is not JSON`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async send(
    path: string,
    options: { method: 'GET' | 'POST'; body?: string; signal: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(`${this.baseUrl}${path}`, {
        dispatcher: this.dispatcher,
        method: options.method,
        body: options.body,
        signal: options.signal,
        headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      });
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      throw connectionError(LABEL, this.baseUrl, error);
    }
  }

  private async getJson(path: string, signal: AbortSignal): Promise<unknown> {
    const response = await this.send(path, { method: 'GET', signal });
    if (response.statusCode !== 200) throw await this.httpError(response);
    try {
      return await response.body.json();
    } catch {
      throw new GatewayError(
        'upstream_protocol_error',
        502,
        `${LABEL} answered ${path} with a body that is not JSON`,
      );
    }
  }

  private async httpError(response: Dispatcher.ResponseData): Promise<GatewayError> {
    const text = await readBounded(response.body, ERROR_BODY_LIMIT);
    const message = upstreamErrorMessage(LABEL, response.statusCode, text);
    return new GatewayError('upstream_http_error', statusForUpstreamStatus(response.statusCode), message);
  }
}

async function readBounded(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const pieces: Buffer[] = [];
  let length = 0;
  try {
    for await (const piece of body) {
      pieces.push(piece as Buffer);
      length += (piece as Buffer).length;
      if (length >= limit) break;
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  if (length >= limit) body.destroy();
  return Buffer.concat(pieces).subarray(0, limit).toString('utf8');
}

/**
 * The body as chunk batches, one per network read. Ends after the `done` chunk; throws a GatewayError for an
 * in-band error line, a bad line, a dropped connection or an end without `done`, after yielding the chunks
 * that came before the failure.
 */
async function* readChunks(
  body: Dispatcher.ResponseData['body'],
  lineLimitBytes: number,
  signal: AbortSignal,
): AsyncGenerator<ChunkBatch> {
  const decoder = new NdjsonDecoder(lineLimitBytes);
  let finished = false;
  let failure: unknown;
  try {
    for await (const data of body) {
      // Whatever follows the final chunk is ignored but read to the end, so the connection goes back to the pool.
      if (finished) continue;
      const batch: ChunkBatch = [];
      for (const line of decoder.push(data as Buffer)) {
        if (line.error) {
          failure = new GatewayError('upstream_protocol_error', 502, line.error.message);
          break;
        }
        try {
          const chunk = parseOllamaChunk(line.value, line.bytes);
          batch.push(chunk);
          if (chunk.type === 'done') {
            finished = true;
            break;
          }
        } catch (error) {
          failure = error;
          break;
        }
      }
      if (batch.length > 0) yield batch;
      if (failure !== undefined) throw failure;
    }
  } catch (error) {
    if (error === failure) throw error;
    if (signal.aborted) throw signal.reason;
    throw new GatewayError(
      'upstream_stream_error',
      502,
      `connection to ${LABEL} lost mid-stream: ${describeNetworkError(error)}`,
      { cause: error },
    );
  }
  if (finished) return;
  const last = decoder.end();
  if (last && !last.error) {
    const chunk = parseOllamaChunk(last.value, last.bytes);
    yield [chunk];
    if (chunk.type === 'done') return;
  } else if (last?.error) {
    throw new GatewayError('upstream_protocol_error', 502, last.error.message);
  }
  throw new GatewayError(
    'upstream_stream_error',
    502,
    `${LABEL} ended the stream without its final done message`,
  );
}
