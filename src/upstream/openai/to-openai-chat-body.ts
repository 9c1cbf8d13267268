import { randomUUID } from 'node:crypto';
import type { ToolCall } from '../../contracts/chat-chunk.js';
import type { ChatMessage, ChatRequest } from '../../contracts/chat-request.js';

/**
 * The `/chat/completions` body for a request in Ollama's vocabulary. Always streamed with usage, for the
 * same reason as the Ollama upstream: a stream can be timed chunk by chunk and aborted, and non-streaming
 * clients are served by collecting it; without `include_usage` the final chunk would have no token counts.
 *
 * Left out on purpose:
 * - `think`: there is no portable switch. OpenAI takes `reasoning_effort` (and rejects it for models that
 *   do not reason), llama.cpp a `chat_template_kwargs` / `reasoning_budget`, vLLM `chat_template_kwargs`
 *   whose key depends on the model's template. Reasoning models reason by default, and their reasoning is
 *   still relayed as thinking.
 * - `keep_alive`, `num_ctx` and other load-time options: these servers fix them when the model is loaded.
 * - `passthrough`: those are fields of Ollama's native API; an OpenAI server would reject or misread them.
 */
export function toOpenAiChatBody(request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: toOpenAiMessages(request.messages),
    stream: true,
    stream_options: { include_usage: true },
  };
  Object.assign(body, toOpenAiSampling(request.options));
  const responseFormat = toResponseFormat(request.format);
  if (responseFormat !== undefined) body.response_format = responseFormat;
  if (request.tools !== undefined) body.tools = request.tools;
  return body;
}

/** Options whose meaning is the same under both names. */
const SAME_NAME = ['temperature', 'top_p', 'seed', 'frequency_penalty', 'presence_penalty'] as const;
/**
 * Not in OpenAI's API, but llama.cpp, vLLM and LM Studio read them at the top level (OpenAI itself rejects
 * them, so they are only sent when the persona or the client set them).
 */
const EXTRA_SAME_NAME = ['top_k', 'min_p'] as const;

function toOpenAiSampling(options: Record<string, unknown>): Record<string, unknown> {
  const sampling: Record<string, unknown> = {};
  for (const key of [...SAME_NAME, ...EXTRA_SAME_NAME]) {
    if (options[key] !== undefined && options[key] !== null) sampling[key] = options[key];
  }
  const numPredict = options.num_predict;
  // Ollama's -1 (no limit) and -2 (fill the context) have no OpenAI spelling: no max_tokens means no limit.
  if (typeof numPredict === 'number' && numPredict >= 0) sampling.max_tokens = numPredict;
  if (typeof options.stop === 'string') sampling.stop = [options.stop];
  else if (Array.isArray(options.stop)) sampling.stop = options.stop;
  if (options.repeat_penalty !== undefined && options.repeat_penalty !== null) {
    // llama.cpp and LM Studio spell it like Ollama, vLLM as repetition_penalty; each ignores the other name.
    sampling.repeat_penalty = options.repeat_penalty;
    sampling.repetition_penalty = options.repeat_penalty;
  }
  return sampling;
}

function toResponseFormat(format: unknown): Record<string, unknown> | undefined {
  if (format === 'json') return { type: 'json_object' };
  if (typeof format === 'object' && format !== null && !Array.isArray(format)) {
    return { type: 'json_schema', json_schema: { name: 'response', schema: format, strict: true } };
  }
  return undefined;
}

/**
 * Ollama clients often send tool calls without ids and answer them by tool name; OpenAI servers require
 * every `tool` message to name the call it answers. So calls get ids, and each `tool` message without one
 * takes the id of the earliest unanswered call of the same name (else the earliest unanswered call).
 */
function toOpenAiMessages(messages: ChatMessage[]): Record<string, unknown>[] {
  let unanswered: Array<{ id: string; name: string }> = [];
  return messages.map((message) => {
    if (message.role === 'assistant' && message.tool_calls && message.tool_calls.length > 0) {
      const toolCalls = message.tool_calls.map(toOpenAiToolCall);
      unanswered = toolCalls.map((call) => ({ id: call.id, name: call.function.name }));
      return { role: 'assistant', content: message.content, tool_calls: toolCalls };
    }
    if (message.role === 'tool') {
      const toolCallId = answeredCallId(message, unanswered);
      return {
        role: 'tool',
        content: message.content,
        ...(toolCallId !== undefined && { tool_call_id: toolCallId }),
      };
    }
    return { role: message.role, content: toOpenAiContent(message) };
  });
}

/** Removes the call `message` answers from `unanswered` and returns its id. */
function answeredCallId(
  message: ChatMessage,
  unanswered: Array<{ id: string; name: string }>,
): string | undefined {
  if (message.tool_call_id !== undefined) {
    const index = unanswered.findIndex((call) => call.id === message.tool_call_id);
    if (index !== -1) unanswered.splice(index, 1);
    return message.tool_call_id;
  }
  const byName = unanswered.findIndex((call) => call.name === message.tool_name);
  return unanswered.splice(byName === -1 ? 0 : byName, 1)[0]?.id;
}

function toOpenAiToolCall(call: ToolCall): {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
} {
  const args: unknown = call.function.arguments;
  return {
    id: call.id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'function',
    function: {
      name: call.function.name,
      // OpenAI carries arguments as JSON text; Ollama as an object.
      arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    },
  };
}

function toOpenAiContent(message: ChatMessage): string | Array<Record<string, unknown>> {
  if (!message.images || message.images.length === 0) return message.content;
  const parts: Array<Record<string, unknown>> = [];
  if (message.content !== '') parts.push({ type: 'text', text: message.content });
  for (const image of message.images) {
    parts.push({ type: 'image_url', image_url: { url: toDataUrl(image) } });
  }
  return parts;
}

function toDataUrl(image: string): string {
  if (image.startsWith('data:')) return image;
  return `data:${imageMimeType(image)};base64,${image}`;
}

/** Ollama sends bare base64 and sniffs the format itself; a data URL has to say it. */
export function imageMimeType(base64: string): string {
  const head = Buffer.from(base64.slice(0, 16), 'base64');
  const ascii = (start: number, end: number) => head.subarray(start, end).toString('latin1');
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  // PNG, and the guess for anything unrecognised: the format every vision server accepts.
  return 'image/png';
}
