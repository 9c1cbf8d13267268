import type { Dispatcher } from 'undici';
import type { ChunkBatch } from '../../contracts/chat-chunk.js';
import type { ChatRequest } from '../../contracts/chat-request.js';
import type { ChatUpstream, UpstreamModel } from '../chat-upstream.js';
import { UpstreamHttp } from '../upstream-http.js';
import { OPENAI_LABEL, readOpenAiChunks } from './openai-chunk-reader.js';
import { toOpenAiChatBody } from './to-openai-chat-body.js';

export interface OpenAiUpstreamOptions {
  /** The API base, including its version segment (usually ending in /v1), without a trailing slash. */
  baseUrl: string;
  connections: number;
  connectTimeoutMs: number;
  /** The limit for one SSE event, the counterpart of Ollama's line limit. */
  lineLimitBytes: number;
  /** Sent as `Authorization: Bearer …` on every request. */
  apiKey?: string;
  /** Replaces the keep-alive pool; tests use it to inject DNS and connect failures. */
  dispatcher?: Dispatcher;
}

const LABEL = OPENAI_LABEL;

/**
 * An OpenAI-compatible API (llama.cpp server, vLLM, LM Studio, OpenAI). These servers send headers before the
 * first token, which is why `openChat` resolving says nothing about the first-token deadline: that waits for
 * the first chunk with a token in it.
 */
export class OpenAiUpstream implements ChatUpstream {
  readonly label = LABEL;
  readonly baseUrl: string;
  private readonly http: UpstreamHttp;
  private readonly lineLimitBytes: number;

  constructor(options: OpenAiUpstreamOptions) {
    this.baseUrl = options.baseUrl;
    this.lineLimitBytes = options.lineLimitBytes;
    const headers: Record<string, string> =
      options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
    this.http = new UpstreamHttp({ ...options, label: LABEL, headers });
  }

  async openChat(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChunkBatch>> {
    const body = await this.http.openStream('/chat/completions', toOpenAiChatBody(request), signal);
    return readOpenAiChunks(body, this.lineLimitBytes, signal, request.model);
  }

  async version(signal: AbortSignal): Promise<string> {
    const count = (await this.models(signal)).length;
    return `OpenAI-compatible (${count} ${count === 1 ? 'model' : 'models'})`;
  }

  async models(signal: AbortSignal): Promise<UpstreamModel[]> {
    const parsed = (await this.http.getJson('/models', signal)) as { data?: unknown };
    // Ollama's OpenAI layer answers `"data": null` when it has no models.
    const entries = Array.isArray(parsed.data) ? (parsed.data as Array<Record<string, unknown>>) : [];
    return entries
      .filter((entry) => typeof entry?.id === 'string')
      .map((entry) => ({
        id: entry.id as string,
        ...(typeof entry.created === 'number' &&
          Number.isFinite(entry.created) && { created: entry.created }),
        ...(typeof entry.owned_by === 'string' && { ownedBy: entry.owned_by }),
      }));
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
