import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../../contracts/gateway-error.js';
import type { Conversation } from '../../../storage/conversation-store.js';
import { mayAccess } from '../../auth/install-auth.js';
import type { KeyDirectory } from '../../auth/key-directory.js';
import { conversationJson, messageJson } from './conversation-json.js';
import { createConversationReplier, type ReplyDeps } from './conversation-reply.js';
import {
  conversationResponses,
  createBody,
  idParams,
  listQuery,
  listResponse,
  messageBody,
  patchBody,
  regenerateBody,
  withMessagesResponse,
} from './conversation-schemas.js';

/**
 * `/v1/conversations`: conversations kept server-side, per persona, replies streamed like `/v1/chat`.
 * With auth on, a conversation belongs to the key that created it: any other key (but an admin's) is told
 * it does not exist, whatever it tries, so that one key cannot even learn which ids another has.
 */
export function registerConversationRoutes(
  app: FastifyInstance,
  deps: ReplyDeps & { keys: Pick<KeyDirectory, 'required'> },
): void {
  const { store, personas, keys } = deps;
  const replyInConversation = createConversationReplier(deps);
  const tags = ['conversations'];

  app.get(
    '/v1/personas',
    {
      schema: {
        summary: 'The personas a conversation or /v1/chat may name',
        tags,
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => ({
      personas: personas.list().map((persona) => ({
        name: persona.name,
        model: persona.model,
        ...(persona.description !== undefined && { description: persona.description }),
      })),
    }),
  );

  app.post<{ Body: { persona?: string; title?: string } }>(
    '/v1/conversations',
    { schema: { summary: 'Start a conversation', tags, body: createBody, response: conversationResponses } },
    async (request, reply) => {
      const persona = personas.resolve(request.body.persona);
      const conversation = await store.createConversation({
        persona: persona.name,
        title: request.body.title?.trim() || null,
        owner: request.apiKey?.id ?? null,
      });
      return reply.code(201).send(conversationJson(conversation));
    },
  );

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/v1/conversations',
    {
      schema: {
        summary: 'Conversations, newest first',
        tags,
        querystring: listQuery,
        response: listResponse,
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? 20);
      if (limit > 100)
        throw new GatewayError('bad_request', 400, 'limit must be at most 100', { param: 'limit' });
      const key = request.apiKey;
      const page = await store.listConversations({
        limit,
        ...(request.query.cursor && { cursor: request.query.cursor }),
        ...(keys.required && !key?.admin && { owner: key?.id ?? '' }),
      });
      return { conversations: page.conversations.map(conversationJson), next_cursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/conversations/:id',
    {
      schema: {
        summary: 'A conversation with its messages',
        tags,
        params: idParams,
        response: withMessagesResponse,
      },
    },
    async (request) => {
      const conversation = await find(request);
      const messages = await store.listMessages(conversation.id);
      return { ...conversationJson(conversation), messages: messages.map(messageJson) };
    },
  );

  app.patch<{ Params: { id: string }; Body: { title: string } }>(
    '/v1/conversations/:id',
    {
      schema: {
        summary: 'Rename a conversation',
        tags,
        params: idParams,
        body: patchBody,
        response: conversationResponses,
      },
    },
    async (request) => {
      await find(request);
      const updated = await store.updateConversation(request.params.id, { title: request.body.title.trim() });
      if (!updated) throw notFound(request.params.id);
      return conversationJson(updated);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/conversations/:id',
    { schema: { summary: 'Delete a conversation and its messages', tags, params: idParams } },
    async (request, reply) => {
      await find(request);
      if (!(await store.deleteConversation(request.params.id))) throw notFound(request.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { content: string; stream?: boolean; model?: string } }>(
    '/v1/conversations/:id/messages',
    {
      schema: {
        summary: 'Add a user message and stream the reply, exactly like /v1/chat',
        tags,
        params: idParams,
        body: messageBody,
      },
    },
    async (request, reply) => {
      const { content, stream, model } = request.body;
      await replyInConversation(await find(request), { content, stream: stream !== false, model }, reply);
      return reply;
    },
  );

  app.post<{ Params: { id: string }; Body: { stream?: boolean; model?: string } | undefined }>(
    '/v1/conversations/:id/regenerate',
    {
      schema: {
        summary: 'Replace the last reply with a new one to the same user message, streamed like /v1/chat',
        tags,
        params: idParams,
        body: regenerateBody,
      },
      // Every field is optional, so a bare POST with no body at all is a regeneration with the defaults.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { stream, model } = request.body ?? {};
      await replyInConversation(
        await find(request),
        { content: undefined, stream: stream !== false, model },
        reply,
      );
      return reply;
    },
  );

  /** The conversation the route names, if the caller may see it; to anyone else it does not exist. */
  async function find(request: FastifyRequest<{ Params: { id: string } }>): Promise<Conversation> {
    const { id } = request.params;
    const conversation = await store.getConversation(id);
    if (!conversation || !mayAccess(request.apiKey, conversation.owner, keys.required)) throw notFound(id);
    return conversation;
  }
}

function notFound(id: string): GatewayError {
  return new GatewayError('not_found', 404, `conversation '${id}' not found`);
}
