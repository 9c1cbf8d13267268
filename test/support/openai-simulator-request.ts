// Request checks of an OpenAI-style server: the auth check, the chat completion body, and their error envelopes.
import type { RecordedRequest } from './ollama-simulator.js';
import type { OpenAiSimBehaviour } from './openai-simulator.js';
import { type CompletionJob, errorEnvelope } from './openai-simulator-chat.js';

export interface Rejection {
  status: number;
  body: string;
}

const invalidRequest = (message: string, code: string | null = null, param: string | null = null) => ({
  status: 400,
  body: errorEnvelope(message, 'invalid_request_error', code, param),
});

export const modelNotFound = (model: string): Rejection => ({
  status: 404,
  body: errorEnvelope(`The model \`${model}\` does not exist`, 'invalid_request_error', 'model_not_found'),
});

export function checkApiKey(b: OpenAiSimBehaviour, recorded: RecordedRequest): Rejection | undefined {
  if (b.requireApiKey === undefined || recorded.headers.authorization === `Bearer ${b.requireApiKey}`) {
    return undefined;
  }
  return {
    status: 401,
    body: errorEnvelope('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'),
  };
}

function textLength(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  return content.reduce<number>((sum, part) => sum + textLength((part as { text?: unknown })?.text), 0);
}

function promptTokens(messages: unknown[]): number {
  const chars = messages.reduce<number>(
    (sum, m) => sum + textLength((m as { content?: unknown })?.content),
    0,
  );
  return Math.max(1, Math.ceil(chars / 4) + 4 * messages.length);
}

/** OpenAI's checks and wording, in its order: JSON, model, messages, then whether the model exists. */
export function validateChat(
  body: unknown,
  parseFailed: boolean,
  models: readonly string[],
): CompletionJob | Rejection {
  if (parseFailed || typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalidRequest('We could not parse the JSON body of your request.');
  }
  const request = body as Record<string, unknown>;
  if (typeof request.model !== 'string' || !request.model) {
    return invalidRequest('you must provide a model parameter');
  }
  const messages = request.messages;
  if (messages === undefined) {
    return invalidRequest(
      "Missing required parameter: 'messages'.",
      'missing_required_parameter',
      'messages',
    );
  }
  if (!Array.isArray(messages) || messages.length === 0) {
    const got = Array.isArray(messages) ? 'an empty array' : `a ${typeof messages}`;
    return invalidRequest(
      `Invalid 'messages': expected a non-empty array, but got ${got}.`,
      null,
      'messages',
    );
  }
  if (!models.includes(request.model)) return modelNotFound(request.model);
  const streamOptions = request.stream_options as { include_usage?: unknown } | undefined;
  return {
    model: request.model,
    // OpenAI's default is not to stream, unlike Ollama's.
    streaming: request.stream === true,
    includeUsage: request.stream === true && streamOptions?.include_usage === true,
    promptTokens: promptTokens(messages),
  };
}
