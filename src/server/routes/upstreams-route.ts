import type { FastifyInstance } from 'fastify';
import type { UpstreamPool } from '../../upstream/pool/upstream-pool.js';

const hostSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    kind: { type: 'string', enum: ['ollama', 'openai'] },
    url: { type: 'string' },
    state: { type: 'string', enum: ['healthy', 'ejected', 'probing'] },
    models: { type: 'array', items: { type: 'string' } },
    loadedModels: { type: 'array', items: { type: 'string' } },
    inFlight: { type: 'integer' },
    maxStreams: { type: ['integer', 'null'] },
    queued: { type: 'integer' },
    ejections: { type: 'integer' },
    lastError: { type: ['string', 'null'] },
  },
} as const;

/** `GET /v1/upstreams`: each model server behind chatwire, as the router sees it now. */
export function registerUpstreamsRoute(app: FastifyInstance, pool: UpstreamPool | undefined): void {
  app.get(
    '/v1/upstreams',
    {
      schema: {
        summary: 'The model servers chatwire routes over: state, models, load and last error of each',
        response: { 200: { type: 'array', items: hostSchema } },
      },
    },
    async () => pool?.status() ?? [],
  );
}
