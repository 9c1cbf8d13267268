import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { newRelayStats, type RelayStats } from '../relay/relay-stats.js';
import { loggedUrl } from './logged-url.js';

declare module 'fastify' {
  interface FastifyRequest {
    relayStats: RelayStats;
  }
}

/** Told of every request when the log line is written (the metrics). */
export interface RequestObserver {
  requestDone(request: FastifyRequest, status: number, durationMs: number): void;
}

/**
 * One log line per request, written when the connection is done with it (hijacked streams included):
 * status, time to first token, tokens, duration (the request id comes with Fastify's per-request logger).
 * Message content is never logged here, nor query values chatwire does not read (see loggedUrl).
 */
export function installRequestLog(app: FastifyInstance, observer?: RequestObserver): void {
  app.decorateRequest('relayStats', null as unknown as RelayStats);
  app.addHook('onRequest', (request, reply, done) => {
    const stats = newRelayStats();
    request.relayStats = stats;
    reply.header('x-request-id', request.id);
    reply.raw.once('close', () => {
      // A response that closed before it finished means the client left, whatever was sent until then.
      const clientLeft = !reply.raw.writableFinished;
      const status = clientLeft ? 499 : reply.raw.statusCode;
      const error = stats.error ?? (clientLeft ? 'client closed the connection' : undefined);
      const durationMs = performance.now() - stats.receivedAt;
      observer?.requestDone(request, status, durationMs);
      const level = status >= 500 || error !== undefined ? 'warn' : 'info';
      // At `warn` (a busy production setting) most requests have no line: it is not even built.
      if ((request.log as Partial<Logger>).isLevelEnabled?.(level) === false) return;
      const line = {
        method: request.method,
        url: loggedUrl(request.url),
        status,
        durationMs: round(durationMs),
        ...(stats.ttftMs !== undefined && { ttftMs: round(stats.ttftMs) }),
        ...(stats.tokens !== undefined && { tokens: stats.tokens }),
        ...(stats.upstream !== undefined && { upstream: stats.upstream }),
        ...(stats.queuedMs !== undefined && { queuedMs: round(stats.queuedMs) }),
        ...(stats.cachedPrefixTokens !== undefined && { cachedPrefixTokens: stats.cachedPrefixTokens }),
        ...(error !== undefined && { error }),
      };
      request.log[level](line, 'request');
    });
    done();
  });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
