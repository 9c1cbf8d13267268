import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { buildPersonaRequest, type ChatRequestBody } from '../../persona/persona-request.js';
import { ollamaChatEncoder } from '../../protocol/ollama/ollama-chat-encoder.js';
import type { ActiveCalls } from '../../relay/active-calls.js';
import { collectReply } from '../../relay/collect-reply.js';
import { streamReply } from '../../relay/stream-reply.js';
import { UpstreamCall } from '../../relay/upstream-call.js';
import type { ChatUpstream } from '../../upstream/chat-upstream.js';
import { chatBodySchema, chatResponseSchema } from './chat-schema.js';

/**
 * `POST /v1/chat`: the persona chat. Status and headers wait for the first upstream chunk, so every failure
 * before it reaches the error handler as a thrown GatewayError with its true status.
 */
export function registerChatRoute(
  app: FastifyInstance,
  deps: { config: Config; upstream: ChatUpstream; activeCalls: ActiveCalls },
): void {
  const { config, upstream, activeCalls } = deps;
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
      const upstreamBody = buildPersonaRequest(request.body, config);
      if (config.log.content) request.log.info({ messages: request.body.messages }, 'chat request content');
      const stats = request.relayStats;
      const call = new UpstreamCall(upstream, config.timeouts, reply.raw, activeCalls);
      let first: Awaited<ReturnType<UpstreamCall['next']>>;
      try {
        await call.open(upstreamBody);
        if (request.body.stream === false) {
          const chunks = await collectReply(call, stats);
          return reply.type('application/json; charset=utf-8').send(ollamaChatEncoder.reply(chunks));
        }
        first = await call.next();
        if (first === undefined)
          throw new GatewayError('upstream_protocol_error', 502, 'upstream sent no chunks');
      } catch (error) {
        call.dispose();
        throw error;
      }
      reply.hijack();
      await streamReply({
        call,
        first,
        response: reply.raw,
        headers: reply.getHeaders(),
        encoder: ollamaChatEncoder,
        stats,
      });
      return reply;
    },
  );
}
