import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { isGatewayError } from '../contracts/gateway-error.js';
import type { Tracing } from './load-tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    traceSpan: Span | undefined;
  }
}

/** performance.now() as the epoch milliseconds spans are timed in. */
function epochMs(at: number): number {
  return performance.timeOrigin + at;
}

/**
 * One span per request, and, for a request that called a model server, a child span for that call with
 * the host, the model, the tokens and the time to the first token. Attributes are routes, hosts, models,
 * counts and statuses: never a message, a key, or a query string.
 */
export function installTracing(app: FastifyInstance, tracing: Tracing): void {
  const { tracer } = tracing;
  app.decorateRequest('traceSpan', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      startTime: epochMs(request.relayStats.receivedAt),
      attributes: { 'http.request.method': request.method, 'http.route': route },
    });
    request.traceSpan = span;
    reply.raw.once('close', () => {
      const stats = request.relayStats;
      const clientLeft = !reply.raw.writableFinished;
      const status = clientLeft ? 499 : reply.raw.statusCode;
      const now = epochMs(performance.now());
      if (stats.upstreamCalledAt !== undefined) {
        const call = tracer.startSpan(
          `chat ${stats.model ?? ''}`.trim(),
          {
            kind: SpanKind.CLIENT,
            startTime: epochMs(stats.upstreamCalledAt),
            attributes: {
              'gen_ai.operation.name': 'chat',
              ...(stats.model !== undefined && { 'gen_ai.request.model': stats.model }),
              ...(stats.upstream !== undefined && { 'chatwire.upstream': stats.upstream }),
              ...(stats.ttftMs !== undefined && { 'chatwire.time_to_first_token_ms': stats.ttftMs }),
              ...(stats.tokens !== undefined && { 'gen_ai.usage.output_tokens': stats.tokens }),
              ...(stats.promptTokens !== undefined && { 'gen_ai.usage.input_tokens': stats.promptTokens }),
              ...(stats.queuedMs !== undefined && { 'chatwire.queued_ms': stats.queuedMs }),
            },
          },
          traceContext(span),
        );
        if (stats.failure !== undefined) {
          call.setStatus({ code: SpanStatusCode.ERROR, message: failureMessage(stats.failure) });
          call.setAttribute('error.type', isGatewayError(stats.failure) ? stats.failure.code : 'internal');
        }
        call.end(now);
      }
      span.setAttribute('http.response.status_code', status);
      if (status >= 500 || stats.error !== undefined) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          ...(stats.error !== undefined && { message: stats.error }),
        });
      }
      span.end(now);
    });
    done();
  });
}

function failureMessage(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** A context whose active span is `parent`, without a global context manager. */
function traceContext(parent: Span) {
  return trace.setSpan(context.active(), parent);
}

import { context, trace } from '@opentelemetry/api';
