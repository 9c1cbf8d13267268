import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import type { PersonaDirectory } from '../../persona/persona-directory.js';
import { buildPersonaRequest, type ChatRequestBody } from '../../persona/persona-request.js';
import { ollamaChatEncoder } from '../../protocol/ollama/ollama-chat-encoder.js';
import { type RelayDeps, relayCollect, relayStream } from '../../relay/relay-chat.js';
import { chatBodySchema, chatResponseSchema } from './chat-schema.js';

/** `POST /v1/chat`: the persona chat, streamed as Ollama NDJSON or answered as one object. */
export function registerChatRoute(
  app: FastifyInstance,
  deps: RelayDeps & { config: Config; personas: PersonaDirectory },
): void {
  const { config } = deps;
  app.post<{ Body: ChatRequestBody }>(
    '/v1/chat',
    {
      schema: {
        summary: 'Chat with the server persona, streamed token by token',
        body: chatBodySchema(config.maxMessages),
        response: chatResponseSchema,
      },
    },
    async (request, reply) => {
      const chatRequest = buildPersonaRequest(request.body, {
        ...config,
        persona: deps.personas.resolve(request.body.persona),
      });
      if (config.log.content) request.log.info({ messages: request.body.messages }, 'chat request content');
      if (request.body.stream === false) {
        const chunks = await relayCollect(deps, { request: chatRequest, reply });
        return reply.type('application/json; charset=utf-8').send(ollamaChatEncoder.reply(chunks));
      }
      await relayStream(deps, { request: chatRequest, reply, encoder: ollamaChatEncoder });
      return reply;
    },
  );
}
