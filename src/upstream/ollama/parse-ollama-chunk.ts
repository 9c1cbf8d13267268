import type { ChatChunk, ToolCall } from '../../contracts/chat-chunk.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { statusForUpstreamMessage } from '../upstream-errors.js';

interface OllamaChunkObject {
  model?: unknown;
  message?: { content?: unknown; thinking?: unknown; tool_calls?: unknown };
  done?: unknown;
  done_reason?: unknown;
  error?: unknown;
  total_duration?: unknown;
  load_duration?: unknown;
  prompt_eval_count?: unknown;
  prompt_eval_duration?: unknown;
  eval_count?: unknown;
  eval_duration?: unknown;
}

/**
 * One `/api/chat` line as a chunk. An in-band `{"error":…}` line is thrown: it ends the stream, and its
 * status only matters when it arrives before the first chunk (Ollama ≤ 0.12.5 reports every error that way).
 */
export function parseOllamaChunk(value: unknown, bytes: Buffer): ChatChunk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('upstream_protocol_error', 502, 'Ollama sent a line that is not a JSON object');
  }
  const object = value as OllamaChunkObject;
  if (object.error !== undefined && object.error !== null && object.error !== '') {
    const message = typeof object.error === 'string' ? object.error : JSON.stringify(object.error);
    throw new GatewayError('upstream_stream_error', statusForUpstreamMessage(message), message);
  }
  const model = typeof object.model === 'string' ? object.model : '';
  const wire = { protocol: 'ollama-ndjson' as const, bytes, object: value as Record<string, unknown> };
  if (object.done === true) {
    return {
      type: 'done',
      model,
      doneReason: typeof object.done_reason === 'string' ? object.done_reason : 'stop',
      // Ollama omits zero counts (Go omitempty): absent means 0.
      usage: { promptTokens: count(object.prompt_eval_count), completionTokens: count(object.eval_count) },
      durations: {
        total: optionalCount(object.total_duration),
        load: optionalCount(object.load_duration),
        promptEval: optionalCount(object.prompt_eval_duration),
        eval: optionalCount(object.eval_duration),
      },
      wire,
    };
  }
  const message = object.message ?? {};
  const chunk: ChatChunk = {
    type: 'delta',
    model,
    content: typeof message.content === 'string' ? message.content : '',
    wire,
  };
  if (typeof message.thinking === 'string' && message.thinking !== '') chunk.thinking = message.thinking;
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    chunk.toolCalls = message.tool_calls as ToolCall[];
  }
  return chunk;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function optionalCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
