import type { ToolCall } from './chat-chunk.js';

/**
 * A chat request as the relay passes it to any upstream. Messages and options use Ollama's native names
 * (the richest vocabulary of the protocols we speak); each upstream adapter maps what it understands.
 */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** Ollama option names: temperature, top_p, num_predict, stop, seed, num_ctx, … */
  options: Record<string, unknown>;
  /** `'json'` or a JSON schema: constrained output. */
  format?: unknown;
  tools?: ToolDefinition[];
  think?: boolean | string;
  keepAlive?: string | number;
  /** A stored conversation's id: keeps its requests on one host of a pool when nothing else tells hosts apart. */
  routingKey?: string;
  /** Fields an Ollama-native client sent that chatwire does not model; relayed to Ollama upstreams as is. */
  passthrough?: Record<string, unknown>;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Base64 images, without a data: prefix. */
  images?: string[];
  tool_calls?: ToolCall[];
  /** On a `tool` message: the tool whose result this is. */
  tool_name?: string;
  tool_call_id?: string;
  thinking?: string;
  [field: string]: unknown;
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}
