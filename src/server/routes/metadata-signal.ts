import type { FastifyReply } from 'fastify';

/** Metadata calls are quick: bounded by the connect timeout, and abandoned when the client leaves. */
export function metadataSignal(reply: FastifyReply, timeoutMs: number): AbortSignal {
  const left = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) left.abort();
  });
  return AbortSignal.any([left.signal, AbortSignal.timeout(timeoutMs)]);
}
