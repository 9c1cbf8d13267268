import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './gateway-metrics.js';

/** `GET /metrics`: Prometheus' text format. Open, like /health; one function, so a guard can wrap it. */
export function registerMetricsRoute(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: requests, latencies, tokens, upstream hosts, the Node process',
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()),
  );
}
