import type { Server, ServerOptions } from 'node:http';
import type { Config } from '../../config/config.js';

/**
 * Node checks the headers and request deadlines only on a timer (every 30 s by default), so a 10 s bound
 * could let a slow client hold its connection for 40 s; a tenth of the bound keeps the overshoot small while
 * the check, one pass over the connections in C++, stays rare.
 */
function checkingIntervalMs(headersMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(headersMs / 10)));
}

/**
 * The server's own bounds on what a client connection may hold: its headers, its whole request (never the
 * response, which a stream keeps open for as long as the model writes), and its idle time between requests.
 * A socket idle timeout is deliberately not set: a cold model load sends nothing for minutes.
 */
export function connectionBounds(connections: Config['connections']): {
  http: ServerOptions;
  requestTimeout: number;
  keepAliveTimeout: number;
} {
  const { headersMs, requestMs, keepAliveMs } = connections;
  return {
    // Fastify sets requestTimeout and keepAliveTimeout on the server after creating it; the headers bound and
    // the checking interval only exist as options of Node's createServer.
    http: {
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      connectionsCheckingInterval: checkingIntervalMs(headersMs),
    },
    requestTimeout: requestMs,
    keepAliveTimeout: keepAliveMs,
  };
}

/** Beyond `max` open connections Node closes each new one as soon as it is accepted. */
export function capConnections(server: Server, max: number): void {
  if (max > 0) server.maxConnections = max;
}
