import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import { isGatewayError } from '../../contracts/gateway-error.js';
import type { UpstreamPool } from '../../upstream/pool/upstream-pool.js';
import { VERSION } from '../../version.js';
import { errorSchema } from './chat-schema.js';

export interface VersionedUpstream {
  readonly label: string;
  readonly baseUrl: string;
  version(signal: AbortSignal): Promise<string>;
}

/** `/health` (the process), `/ready` (the upstream answers) and `/info` (what this gateway is). */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { config: Config; upstream: VersionedUpstream; pool?: UpstreamPool | undefined },
): void {
  const { config, upstream, pool } = deps;

  app.get(
    '/health',
    { schema: { summary: 'Liveness: 200 while the process runs', response: { 200: { type: 'string' } } } },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ok'),
  );

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: 200 when the upstream answers, else 503 with the reason',
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              upstream: { type: 'string' },
              version: { type: 'string' },
              upstreams: { type: 'array', items: { type: 'string' } },
            },
          },
          503: errorSchema,
        },
      },
    },
    async (_request, reply) => {
      if (pool?.isPool) {
        const answering = await pool.answeringHosts(AbortSignal.timeout(config.timeouts.connectMs));
        if (answering.length > 0) return { status: 'ready', upstreams: answering };
        const reasons = pool
          .status()
          .map(
            (host) => `${host.name}: ${host.lastError ?? `no answer within ${config.timeouts.connectMs} ms`}`,
          );
        return reply.code(503).send({ error: `no upstream host answers (${reasons.join('; ')})` });
      }
      try {
        const version = await upstream.version(AbortSignal.timeout(config.timeouts.connectMs));
        return { status: 'ready', upstream: upstream.baseUrl, version };
      } catch (error) {
        const reason = isGatewayError(error)
          ? error.message
          : `${upstream.label} at ${upstream.baseUrl} did not answer within ${config.timeouts.connectMs} ms`;
        return reply.code(503).send({ error: reason });
      }
    },
  );

  app.get(
    '/info',
    {
      schema: {
        summary: 'What this gateway is and where its documentation lives',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => ({
      name: 'chatwire',
      version: VERSION,
      upstream: { kind: config.upstream.kind, url: upstream.baseUrl },
      model: config.persona.model,
      docs: { openapi: '/openapi.json', ui: '/docs' },
    }),
  );
}
