import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../../contracts/gateway-error.js';
import { generationErrors } from '../../../generations/generation-errors.js';
import type { GenerationReader, GenerationStore } from '../../../generations/generation-types.js';
import type { ConversationStore } from '../../../storage/conversation-store.js';
import { mayAccess } from '../../auth/install-auth.js';
import type { KeyDirectory } from '../../auth/key-directory.js';
import { resumePoint, resumeReply } from './resume-reply.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
const afterQuery = { type: 'object', properties: { after: { type: 'string' } } } as const;

type ResumeRequest = FastifyRequest<{ Params: { id: string }; Querystring: { after?: string } }>;

/**
 * Resuming and stopping generations. A generation is its owner's: to any other key it does not exist (404),
 * while an id nothing is known of answers 204, as the AI SDK's resume contract expects of "nothing running".
 */
export function registerGenerationRoutes(
  app: FastifyInstance,
  deps: {
    generations: GenerationStore;
    conversations: ConversationStore;
    keys: Pick<KeyDirectory, 'required'>;
    /** How long a resuming client may leave its buffer full before it is taken as gone. */
    sendMs: number;
  },
): void {
  const { generations, conversations, keys, sendMs } = deps;
  const tags = ['generations'];

  const owned = (request: FastifyRequest, reader: GenerationReader | undefined, id: string) => {
    if (reader !== undefined && !mayAccess(request.apiKey, reader.info.owner, keys.required))
      throw new GatewayError('not_found', 404, `generation '${id}' not found`);
    return reader;
  };

  app.get<{ Params: { id: string }; Querystring: { after?: string } }>(
    '/v1/generations/:id/stream',
    {
      schema: {
        summary: 'Resume a streamed reply: its frames after `after` (or Last-Event-ID), then live to its end',
        tags,
        params: idParams,
        querystring: afterQuery,
      },
    },
    async (request: ResumeRequest, reply) => {
      const { id } = request.params;
      const after = resumePoint(id, request.query, request.headers['last-event-id']);
      const reader = owned(request, await generations.find(id), id);
      if (reader === undefined) return reply.code(204).send();
      await resumeReply(reader, after, reply, sendMs);
      return reply;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/generations/:id/stop',
    {
      schema: {
        summary: 'Stop a generation, from any instance; repeating it is harmless',
        tags,
        params: idParams,
      },
    },
    async (request) => {
      const { id } = request.params;
      const reader = owned(request, await generations.find(id), id);
      if (reader === undefined || !(await generations.stop(id, generationErrors.stopped(id))))
        throw new GatewayError('not_found', 404, `generation '${id}' not found`);
      return { id, stopped: true };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string } }>(
    '/v1/conversations/:id/stream',
    {
      schema: {
        summary:
          "Resume the conversation's running reply (204 when none runs), from its start unless `after`",
        tags: ['conversations'],
        params: idParams,
        querystring: afterQuery,
      },
    },
    async (request: ResumeRequest, reply) => {
      const { id } = request.params;
      const conversation = await conversations.getConversation(id);
      if (!conversation || !mayAccess(request.apiKey, conversation.owner, keys.required))
        throw new GatewayError('not_found', 404, `conversation '${id}' not found`);
      const reader = await generations.findRunning(id);
      if (reader === undefined) return reply.code(204).send();
      await resumeReply(
        reader,
        resumePoint(reader.info.id, request.query, request.headers['last-event-id']),
        reply,
        sendMs,
      );
      return reply;
    },
  );
}
