import type { FastifyInstance } from 'fastify';
import { type Admission, LimitError, type Limiter } from './limiter.js';

/** The routes that start a generation upstream: they hold a stream while they run. */
const GENERATING = new Set([
  'POST /v1/chat',
  'POST /api/chat',
  'POST /api/generate',
  'POST /v1/chat/completions',
  'POST /v1/conversations/:id/messages',
]);

/**
 * Admits each request against the limits right after auth, before its body is read and long before
 * anything goes upstream; a generation's stream is counted until its response ends, and the tokens
 * its reply cost (from the upstream's usage) are charged then.
 */
export function installLimits(
  app: FastifyInstance,
  limiter: Limiter,
  observer?: { limitRejected(key: string, kind: string): void },
): void {
  app.addHook('onRequest', async (request, reply) => {
    const generates = GENERATING.has(`${request.method} ${request.routeOptions.url}`);
    const key = request.apiKey;
    if (!generates && key?.limits.rpm == null) return;
    let admission: Admission;
    try {
      admission = await limiter.admit({
        generates,
        ...(key !== undefined && { key: { id: key.id, name: key.name, limits: key.limits } }),
      });
    } catch (error) {
      if (error instanceof LimitError) observer?.limitRejected(key?.name ?? '', error.kind);
      throw error;
    }
    const release = () => admission.end(request.relayStats.tokens ?? 0);
    // Released as the response's last bytes are handed over, not after: a client that sends its next
    // request the moment this one ends must find its stream free. 'close' covers a client that left.
    const raw = reply.raw;
    const end = raw.end;
    raw.end = function (this: typeof raw, ...args: unknown[]) {
      release();
      return (end as (...endArgs: unknown[]) => typeof raw).apply(this, args);
    } as typeof raw.end;
    // A detached generation goes on after its client left: its stream still counts until it ends.
    raw.once('close', () => {
      const outlives = request.relayStats.outlives;
      if (outlives === undefined) release();
      else void outlives.then(release);
    });
  });
}
