import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config/config.js';
import type { ChatMessage, ChatRequest, ToolDefinition } from '../../../contracts/chat-request.js';
import { assertModelAllowed } from '../../../persona/model-policy.js';
import { ollamaChatEncoder } from '../../../protocol/ollama/ollama-chat-encoder.js';
import { ollamaGenerateEncoder } from '../../../protocol/ollama/ollama-generate-encoder.js';
import { type RelayDeps, relayCollect, relayStream } from '../../../relay/relay-chat.js';
import { ollamaChatBodySchema, ollamaGenerateBodySchema, ollamaStreamResponse } from './ollama-schemas.js';

interface GenerationFields {
  model: string;
  stream?: boolean | null;
  options?: Record<string, unknown>;
  format?: unknown;
  think?: boolean | string;
  keep_alive?: string | number;
  [field: string]: unknown;
}

interface OllamaChatBody extends GenerationFields {
  messages?: ChatMessage[];
  tools?: ToolDefinition[];
}

interface OllamaGenerateBody extends GenerationFields {
  prompt?: string;
  system?: string;
  images?: string[];
}

/**
 * Ollama's `/api/chat` and `/api/generate`, so Ollama clients can use chatwire as their host. These relay the
 * client's own model and options (no persona); only the model allow-list applies.
 */
export function registerOllamaGenerationRoutes(
  app: FastifyInstance,
  deps: RelayDeps & { config: Config },
): void {
  const { config } = deps;

  app.post<{ Body: OllamaChatBody }>(
    '/api/chat',
    {
      schema: {
        summary: "Ollama's /api/chat, relayed to the configured upstream",
        tags: ['ollama'],
        body: ollamaChatBodySchema(config.maxMessages),
        response: ollamaStreamResponse,
      },
    },
    async (request, reply) => {
      const { messages, tools, ...fields } = request.body;
      const chatRequest = toChatRequest(fields, (messages ?? []).map(withContent));
      if (tools !== undefined) chatRequest.tools = tools;
      if (fields.stream === false) {
        const chunks = await relayCollect(deps, { request: chatRequest, reply });
        return reply.type('application/json; charset=utf-8').send(ollamaChatEncoder.reply(chunks));
      }
      await relayStream(deps, { request: chatRequest, reply, encoder: ollamaChatEncoder });
      return reply;
    },
  );

  app.post<{ Body: OllamaGenerateBody }>(
    '/api/generate',
    {
      schema: {
        summary: "Ollama's /api/generate, served as a one-turn chat",
        tags: ['ollama'],
        body: ollamaGenerateBodySchema,
        response: ollamaStreamResponse,
      },
    },
    async (request, reply) => {
      const { prompt, system, images, ...fields } = request.body;
      const messages: ChatMessage[] = [];
      if (system) messages.push({ role: 'system', content: system });
      // An empty prompt asks Ollama to load the model; an empty conversation does the same on /api/chat.
      if (prompt || images?.length)
        messages.push({ role: 'user', content: prompt ?? '', ...(images && { images }) });
      const chatRequest = toChatRequest(fields, messages);
      if (fields.stream === false) {
        const chunks = await relayCollect(deps, { request: chatRequest, reply });
        return reply.type('application/json; charset=utf-8').send(ollamaGenerateEncoder.reply(chunks));
      }
      await relayStream(deps, { request: chatRequest, reply, encoder: ollamaGenerateEncoder });
      return reply;
    },
  );

  function toChatRequest(fields: GenerationFields, messages: ChatMessage[]): ChatRequest {
    const { model, stream: _stream, options, format, think, keep_alive, ...passthrough } = fields;
    assertModelAllowed(model, config.allowedModels);
    const chatRequest: ChatRequest = { model, messages, options: options ?? {}, passthrough };
    if (format !== undefined && format !== null && format !== '') chatRequest.format = format;
    if (think !== undefined) chatRequest.think = think;
    if (keep_alive !== undefined) chatRequest.keepAlive = keep_alive;
    return chatRequest;
  }
}

/** Go decodes a missing `content` as ""; so do we, so every upstream sees a string. */
function withContent(message: ChatMessage): ChatMessage {
  return typeof message.content === 'string' ? message : { ...message, content: '' };
}
