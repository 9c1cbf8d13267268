import type { ChatRequest } from '../../contracts/chat-request.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import type { ChatHistoryItem, GenerateOptions } from './node-llama-cpp.js';

/** Sampling as Ollama does it when a request sets nothing, so replies feel the same over either engine. */
const OLLAMA_DEFAULTS = { temperature: 0.8, top_k: 40, top_p: 0.9 };

export type SamplingOptions = Omit<
  GenerateOptions,
  'onResponseChunk' | 'signal' | 'stopOnAbortSignal' | 'grammar'
>;

/**
 * The conversation in node-llama-cpp's terms; the model's own chat template (from the GGUF) formats it. A
 * trailing assistant message is continued rather than answered, as Ollama does.
 */
export function toChatHistory(request: ChatRequest): ChatHistoryItem[] {
  if (request.tools !== undefined && request.tools.length > 0) {
    throw badRequest('the embedded engine does not support tools', 'tools');
  }
  const history: ChatHistoryItem[] = request.messages.map((message, index) => {
    if (message.images !== undefined && message.images.length > 0) {
      throw badRequest(`messages[${index}].images: the embedded engine reads text only`, 'messages');
    }
    switch (message.role) {
      case 'system':
        return { type: 'system', text: message.content };
      case 'user':
        return { type: 'user', text: message.content };
      case 'assistant':
        return { type: 'model', response: message.content === '' ? [] : [message.content] };
      default:
        throw badRequest(
          `messages[${index}].role: the embedded engine does not support ${message.role} messages`,
          'messages',
        );
    }
  });
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}

/**
 * Ollama's option names mapped onto node-llama-cpp's. `num_predict` ≤ 0 (unlimited) is capped at the
 * sequence's context, so every reply ends. Load-time options (num_ctx, num_gpu, …) are the engine's.
 */
export function toSamplingOptions(options: Record<string, unknown>, contextSize: number): SamplingOptions {
  const number = (key: string): number | undefined => {
    const value = options[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw badRequest(`options.${key} must be a number`);
    return value;
  };
  const maxTokens = number('num_predict');
  const stop = options.stop;
  const stops = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.filter(isString) : [];
  const repeatPenalty = number('repeat_penalty');
  const frequencyPenalty = number('frequency_penalty');
  const presencePenalty = number('presence_penalty');
  const penalised =
    (repeatPenalty !== undefined && repeatPenalty !== 1) || !!frequencyPenalty || !!presencePenalty;
  const seed = number('seed');
  const minP = number('min_p');
  return {
    maxTokens: maxTokens !== undefined && maxTokens > 0 ? Math.floor(maxTokens) : contextSize,
    temperature: number('temperature') ?? OLLAMA_DEFAULTS.temperature,
    topK: number('top_k') ?? OLLAMA_DEFAULTS.top_k,
    topP: number('top_p') ?? OLLAMA_DEFAULTS.top_p,
    ...(minP !== undefined && { minP }),
    ...(seed !== undefined && { seed }),
    ...(stops.length > 0 && { customStopTriggers: stops }),
    ...(penalised && {
      repeatPenalty: {
        ...(repeatPenalty !== undefined && { penalty: repeatPenalty }),
        lastTokens: number('repeat_last_n') ?? 64,
        ...(frequencyPenalty !== undefined && { frequencyPenalty }),
        ...(presencePenalty !== undefined && { presencePenalty }),
      },
    }),
  };
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function badRequest(message: string, param?: string): GatewayError {
  return new GatewayError('bad_request', 400, message, param === undefined ? undefined : { param });
}
