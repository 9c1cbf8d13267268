import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../../../config/config.js';
import { isModelAllowed } from '../../../persona/model-policy.js';
import type { ChatUpstream, UpstreamModel } from '../../../upstream/chat-upstream.js';
import { addVary } from '../../add-vary.js';
import { errorSchema } from '../chat-schema.js';
import { metadataSignal } from '../metadata-signal.js';
import { type ChatPage, wantsHtml } from '../page/page-routes.js';

/**
 * The version chatwire reports for upstreams that are not Ollama: the first Ollama release whose streams
 * report pre-stream errors with a true status, which is the behaviour chatwire gives every client.
 */
const OLLAMA_COMPATIBLE_VERSION = '0.12.6';

const anyObject = { type: 'object', additionalProperties: true } as const;

/** Ollama's metadata API, answered from the upstream and filtered by the model allow-list. */
export function registerOllamaMetaRoutes(
  app: FastifyInstance,
  deps: { config: Config; upstream: ChatUpstream; page?: ChatPage },
): void {
  const { config, upstream, page } = deps;
  const allowed = (name: string) => isModelAllowed(name, config.allowedModels);
  const signalFor = (reply: FastifyReply) => metadataSignal(reply, config.timeouts.connectMs);

  // Ollama clients probe `/` to see whether a server is up; a browser gets the chat page there.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    schema: {
      summary: 'Ollama liveness probe: "Ollama is running" (browsers: the chat page)',
      tags: ['ollama'],
    },
    handler: async (request, reply) => {
      addVary(reply, 'accept');
      if (page !== undefined && wantsHtml(request)) return page.sendIndex(request, reply);
      return reply.type('text/plain; charset=utf-8').send('Ollama is running');
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/version',
    schema: { summary: "The upstream Ollama's version", tags: ['ollama'], response: { 200: anyObject } },
    handler: async (_request, reply) => {
      if (!upstream.native) return { version: OLLAMA_COMPATIBLE_VERSION };
      return relayNative(reply, await upstream.native('GET', '/api/version', undefined, signalFor(reply)));
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/tags',
    schema: { summary: 'Models this gateway serves', tags: ['ollama'], response: { 200: anyObject } },
    handler: async (_request, reply) => {
      const models = (await upstream.models(signalFor(reply))).filter((model) => allowed(model.id));
      return { models: models.map(toOllamaTag) };
    },
  });

  app.post<{ Body: { model?: string; name?: string; verbose?: boolean } }>(
    '/api/show',
    {
      schema: {
        summary: "A model's details",
        tags: ['ollama'],
        body: { type: 'object', properties: { model: { type: 'string' }, name: { type: 'string' } } },
        response: { 200: anyObject, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const model = request.body.model || request.body.name;
      if (!model) return reply.code(400).send({ error: 'model is required' });
      if (!allowed(model)) return reply.code(404).send({ error: `model '${model}' not found` });
      if (upstream.native) {
        const body = { ...request.body, model };
        return relayNative(reply, await upstream.native('POST', '/api/show', body, signalFor(reply)));
      }
      const known = (await upstream.models(signalFor(reply))).some((entry) => entry.id === model);
      if (!known) return reply.code(404).send({ error: `model '${model}' not found` });
      return {
        modelfile: '',
        parameters: '',
        template: '',
        details: emptyDetails(),
        model_info: {},
        capabilities: ['completion', 'tools'],
      };
    },
  );

  app.get(
    '/api/ps',
    { schema: { summary: 'Models loaded in memory', tags: ['ollama'], response: { 200: anyObject } } },
    async (_request, reply) => {
      if (!upstream.native) return { models: [] };
      const answer = await upstream.native('GET', '/api/ps', undefined, signalFor(reply));
      const body = answer.body as { models?: Array<{ name?: string }> };
      if (answer.status === 200 && Array.isArray(body.models)) {
        body.models = body.models.filter((model) => allowed(String(model.name)));
      }
      return relayNative(reply, answer);
    },
  );
}

function relayNative(reply: FastifyReply, answer: { status: number; body: unknown }) {
  return reply.code(answer.status).send(answer.body);
}

function toOllamaTag(model: UpstreamModel): Record<string, unknown> {
  if (model.ollamaTag) return model.ollamaTag;
  return {
    name: model.id,
    model: model.id,
    modified_at: new Date((model.created ?? 0) * 1000).toISOString(),
    size: 0,
    digest: '',
    details: emptyDetails(),
  };
}

function emptyDetails() {
  return {
    parent_model: '',
    format: '',
    family: '',
    families: null,
    parameter_size: '',
    quantization_level: '',
  };
}
