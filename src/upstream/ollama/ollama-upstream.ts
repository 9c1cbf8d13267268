import type { Dispatcher } from 'undici';
import type { ChunkBatch } from '../../contracts/chat-chunk.js';
import type { ChatRequest } from '../../contracts/chat-request.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { NdjsonDecoder } from '../../protocol/ndjson/ndjson-decoder.js';
import type { ChatUpstream, NativeAnswer, UpstreamModel } from '../chat-upstream.js';
import { midStreamError } from '../upstream-errors.js';
import { UpstreamHttp } from '../upstream-http.js';
import { parseOllamaChunk } from './parse-ollama-chunk.js';
import { toOllamaChatBody } from './to-ollama-chat-body.js';

export interface OllamaUpstreamOptions {
  baseUrl: string;
  connections: number;
  connectTimeoutMs: number;
  lineLimitBytes: number;
  dispatcher?: Dispatcher;
}

const LABEL = 'Ollama';

/** The native Ollama API. */
export class OllamaUpstream implements ChatUpstream {
  readonly label = LABEL;
  readonly baseUrl: string;
  private readonly http: UpstreamHttp;
  private readonly lineLimitBytes: number;

  constructor(options: OllamaUpstreamOptions) {
    this.baseUrl = options.baseUrl;
    this.lineLimitBytes = options.lineLimitBytes;
    this.http = new UpstreamHttp({ ...options, label: LABEL });
  }

  async openChat(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChunkBatch>> {
    const body = await this.http.openStream('/api/chat', toOllamaChatBody(request), signal);
    return readChunks(body, this.lineLimitBytes, signal);
  }

  async version(signal: AbortSignal): Promise<string> {
    const parsed = (await this.http.getJson('/api/version', signal)) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  }

  async models(signal: AbortSignal): Promise<UpstreamModel[]> {
    const parsed = (await this.http.getJson('/api/tags', signal)) as { models?: unknown };
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

  async native(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<NativeAnswer> {
    const response = await this.http.send(path, {
      method,
      signal,
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (response.statusCode >= 400) {
      const { status, message } = await this.http.errorMessage(response);
      return { status, body: { error: message } };
    }
    return { status: response.statusCode, body: this.http.parseJson(path, await response.body.text()) };
  }

  close(): Promise<void> {
    return this.http.close();
  }
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
    throw midStreamError(LABEL, error, signal);
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
