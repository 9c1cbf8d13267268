import type { ChunkBatch } from '../contracts/chat-chunk.js';
import type { ChatRequest } from '../contracts/chat-request.js';

/** What the relay needs from an upstream, whatever protocol it speaks. */
export interface ChatUpstream {
  /** How messages name it: "Ollama", "OpenAI-compatible upstream". */
  readonly label: string;
  readonly baseUrl: string;
  /**
   * Starts a streaming chat. Resolves once the upstream accepted it; every failure before that is a
   * GatewayError carrying the status the client should see. The batches end after the `done` chunk.
   */
  openChat(request: ChatRequest, signal: AbortSignal, note?: RouteNote): Promise<AsyncIterable<ChunkBatch>>;
  /** The upstream's version (or a description of it), for readiness. */
  version(signal: AbortSignal): Promise<string>;
  /** The models the upstream serves. */
  models(signal: AbortSignal): Promise<UpstreamModel[]>;
  close(): Promise<void>;
  /**
   * Ollama-native metadata calls (`/api/show`, `/api/ps`, `/api/version`), for upstreams that speak Ollama.
   * Upstream error statuses come back as values in Ollama's envelope.
   */
  native?(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<NativeAnswer>;
}

/** Where a request went and why, filled in by upstreams that choose (a pool), for headers and logs. */
export interface RouteNote {
  /** The host's name (`host:port`). */
  upstream?: string;
  /** Time spent waiting for a host with room. */
  queuedMs?: number;
  /** The router's estimate of the prompt the host already holds, in tokens. */
  cachedPrefixTokens?: number;
}

export interface NativeAnswer {
  status: number;
  body: unknown;
}

export interface UpstreamModel {
  id: string;
  /** Unix seconds, when known. */
  created?: number;
  ownedBy?: string;
  /** Ollama's own `/api/tags` entry, when the upstream is Ollama (relayed as is on Ollama-compatible routes). */
  ollamaTag?: Record<string, unknown>;
}
