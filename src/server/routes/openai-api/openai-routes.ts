import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../../../config/config.js';
import { GatewayError } from '../../../contracts/gateway-error.js';
import { assertModelAllowed, isModelAllowed } from '../../../persona/model-policy.js';
import { fromOpenAiRequest, type OpenAiChatBody } from '../../../protocol/openai/from-openai-request.js';
import {
  newCompletionIdentity,
  OpenAiStreamEncoder,
  toChatCompletion,
} from '../../../protocol/openai/openai-chat-encoder.js';
import { type RelayDeps, relayCollect, relayStream } from '../../../relay/relay-chat.js';
import type { UpstreamModel } from '../../../upstream/chat-upstream.js';
import { metadataSignal } from '../metadata-signal.js';
import { chatCompletionBodySchema, chatCompletionResponses, modelListResponse } from './openai-schemas.js';

/**
 * OpenAI's chat completions and models API, so the `openai` SDK, the Vercel AI SDK and LangChain work with
 * chatwire as their base URL. The stream is translated from the relay's chunks, never piped from Ollama's own
 * `/v1` layer, which loses mid-stream errors.
 */
export function registerOpenAiRoutes(app: FastifyInstance, deps: RelayDeps & { config: Config }): void {
  const { config, upstream } = deps;
  const routeConfig = { errorStyle: 'openai' as const };

  app.post<{ Body: OpenAiChatBody }>(
    '/v1/chat/completions',
    {
      config: routeConfig,
      schema: {
        summary: 'OpenAI chat completions, streamed as server-sent events',
        tags: ['openai'],
        body: chatCompletionBodySchema(config.maxMessages),
        response: chatCompletionResponses,
      },
    },
    async (request, reply) => {
      assertModelAllowed(request.body.model, config.allowedModels);
      const { request: chatRequest, includeUsage } = fromOpenAiRequest(request.body);
      const identity = newCompletionIdentity(request.body.model);
      if (request.body.stream !== true) {
        const chunks = await relayCollect(deps, { request: chatRequest, reply });
        return reply.type('application/json').send(toChatCompletion(identity, chunks));
      }
      await relayStream(deps, {
        request: chatRequest,
        reply,
        encoder: new OpenAiStreamEncoder(identity, includeUsage),
        keepAliveMs: config.sseKeepAliveMs,
      });
      return reply;
    },
  );

  const listModels = async (reply: FastifyReply) => {
    const models = await upstream.models(metadataSignal(reply, config.timeouts.connectMs));
    return models.filter((model) => isModelAllowed(model.id, config.allowedModels));
  };

  app.get(
    '/v1/models',
    {
      config: routeConfig,
      schema: { summary: 'Models this gateway serves', tags: ['openai'], response: modelListResponse },
    },
    async (_request, reply) => ({ object: 'list', data: (await listModels(reply)).map(toOpenAiModel) }),
  );

  // Model ids may contain slashes (`meta-llama/Llama-3.1-8B`).
  app.get<{ Params: { '*': string } }>(
    '/v1/models/*',
    { config: routeConfig, schema: { summary: 'One model', tags: ['openai'] } },
    async (request, reply) => {
      const id = request.params['*'];
      const model = (await listModels(reply)).find((entry) => entry.id === id);
      if (!model)
        throw new GatewayError('not_found', 404, `The model '${id}' does not exist`, { param: 'model' });
      return toOpenAiModel(model);
    },
  );
}

function toOpenAiModel(model: UpstreamModel) {
  return {
    id: model.id,
    object: 'model',
    created: model.created ?? 0,
    owned_by: model.ownedBy ?? 'chatwire',
  };
}
