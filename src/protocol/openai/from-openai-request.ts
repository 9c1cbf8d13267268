import type { ToolCall } from '../../contracts/chat-chunk.js';
import type { ChatMessage, ChatRequest, ToolDefinition } from '../../contracts/chat-request.js';
import { GatewayError } from '../../contracts/gateway-error.js';

export interface OpenAiChatBody {
  model: string;
  messages: OpenAiMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  response_format?: { type: string; json_schema?: { schema?: unknown } } | null;
  tools?: ToolDefinition[] | null;
  tool_choice?: unknown;
  reasoning_effort?: string | null;
  n?: number | null;
}

export interface OpenAiMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | ContentPart[] | null;
  tool_calls?: Array<{ id?: string; type?: string; function: { name: string; arguments?: string } }>;
  tool_call_id?: string;
}

type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } | string };

/**
 * An OpenAI chat completion request in the relay's vocabulary (Ollama's names). What cannot be served is a
 * 400 naming the parameter, never a silent drop: a client asking for two choices gets told, not one.
 */
export function fromOpenAiRequest(body: OpenAiChatBody): { request: ChatRequest; includeUsage: boolean } {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw invalid('n', 'only n=1 is supported');
  }
  const request: ChatRequest = {
    model: body.model,
    messages: toMessages(body.messages),
    options: toOptions(body),
  };
  const format = toFormat(body.response_format);
  if (format !== undefined) request.format = format;
  if (body.tools && body.tools.length > 0 && body.tool_choice !== 'none') request.tools = body.tools;
  const think = toThink(body.reasoning_effort);
  if (think !== undefined) request.think = think;
  return { request, includeUsage: body.stream_options?.include_usage === true };
}

function toOptions(body: OpenAiChatBody): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) options.num_predict = maxTokens;
  for (const key of ['temperature', 'top_p', 'seed', 'frequency_penalty', 'presence_penalty'] as const) {
    const value = body[key];
    if (value !== undefined && value !== null) options[key] = value;
  }
  if (typeof body.stop === 'string') options.stop = [body.stop];
  else if (Array.isArray(body.stop)) options.stop = body.stop;
  return options;
}

function toFormat(responseFormat: OpenAiChatBody['response_format']): unknown {
  if (!responseFormat || responseFormat.type === 'text') return undefined;
  if (responseFormat.type === 'json_object') return 'json';
  if (responseFormat.type === 'json_schema') {
    const schema = responseFormat.json_schema?.schema;
    if (typeof schema !== 'object' || schema === null) {
      throw invalid(
        'response_format.json_schema.schema',
        'response_format.json_schema.schema must be an object',
      );
    }
    return schema;
  }
  throw invalid('response_format.type', `response_format.type '${responseFormat.type}' is not supported`);
}

/** Ollama's `think` takes a level or a switch; OpenAI's effort names map onto it. */
function toThink(effort: string | null | undefined): boolean | string | undefined {
  if (effort === undefined || effort === null) return undefined;
  if (effort === 'none') return false;
  if (effort === 'minimal') return 'low';
  if (['low', 'medium', 'high'].includes(effort)) return effort;
  throw invalid(
    'reasoning_effort',
    `reasoning_effort '${effort}' is not supported; use none, minimal, low, medium or high`,
  );
}

function toMessages(messages: OpenAiMessage[]): ChatMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((message, index) => {
    const role = message.role === 'developer' ? 'system' : message.role;
    const converted: ChatMessage = { role, content: '' };
    const content = message.content;
    if (typeof content === 'string') {
      converted.content = content;
    } else if (Array.isArray(content)) {
      const { text, images } = readParts(content, index);
      converted.content = text;
      if (images.length > 0) converted.images = images;
    }
    if (message.tool_calls && message.tool_calls.length > 0) {
      converted.tool_calls = message.tool_calls.map((call, callIndex): ToolCall => {
        if (call.id) toolNames.set(call.id, call.function.name);
        return {
          ...(call.id && { id: call.id }),
          function: {
            index: callIndex,
            name: call.function.name,
            arguments: parseArguments(call.function.arguments, `messages.${index}.tool_calls.${callIndex}`),
          },
        };
      });
    }
    if (role === 'tool' && message.tool_call_id) {
      converted.tool_call_id = message.tool_call_id;
      const name = toolNames.get(message.tool_call_id);
      if (name) converted.tool_name = name;
    }
    return converted;
  });
}

function readParts(parts: ContentPart[], messageIndex: number): { text: string; images: string[] } {
  const texts: string[] = [];
  const images: string[] = [];
  parts.forEach((part, partIndex) => {
    const param = `messages.${messageIndex}.content.${partIndex}`;
    if (part.type === 'text') {
      texts.push(part.text);
    } else if (part.type === 'image_url') {
      const url = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url;
      const match = /^data:image\/[a-z+.-]+;base64,(.+)$/is.exec(url ?? '');
      if (!match?.[1]) {
        throw invalid(
          `${param}.image_url.url`,
          'image URLs are not supported; send the image as a base64 data: URL',
        );
      }
      images.push(match[1]);
    } else {
      throw invalid(
        `${param}.type`,
        `content part type '${(part as { type: string }).type}' is not supported`,
      );
    }
  });
  return { text: texts.join('\n'), images };
}

function parseArguments(text: string | undefined, param: string): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  try {
    const value = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw invalid(
    `${param}.function.arguments`,
    `${param}.function.arguments must be a JSON object in a string`,
  );
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('bad_request', 400, message, { param });
}
