import type { FastifyReply } from 'fastify';
import { GatewayError } from '../../../contracts/gateway-error.js';
import { generationErrors } from '../../../generations/generation-errors.js';
import type { GenerationReader } from '../../../generations/generation-types.js';
import { joinFrames } from '../../../generations/join-frames.js';
import { pumpFrames } from '../../../generations/pump-frames.js';
import { GENERATION_HEADER } from '../../../relay/relay-chat.js';

const CONTENT_TYPES = { ndjson: 'application/x-ndjson', sse: 'text/event-stream' } as const;

/**
 * Answers a resume: 410 when frames it asks for were evicted, 204 when it already has every frame of a
 * generation that ended, else 200 with the frames after `after`, then live until the terminal frame.
 */
export async function resumeReply(
  reader: GenerationReader,
  after: number,
  reply: FastifyReply,
  sendMs: number,
): Promise<void> {
  const { info } = reader;
  const now = await reader.read(after, AbortSignal.abort());
  if (now === 'evicted') throw generationErrors.evicted(info.id, after);
  if (now.end && now.frames.length === 0) {
    reply.header(GENERATION_HEADER, info.id).code(204).send();
    return;
  }
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': CONTENT_TYPES[info.format],
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    [GENERATION_HEADER]: info.id,
  });
  if (now.end) {
    response.end(joinFrames(now.frames));
    return;
  }
  if (now.frames.length > 0) response.write(joinFrames(now.frames));
  await pumpFrames(reader, response, after + now.frames.length, sendMs).catch(() => response.destroy());
}

/**
 * Where a resume starts: `?after=N` (frames the client has), else SSE's `Last-Event-ID: <generation>-<N>`,
 * else the beginning. Each is a 400 naming it when malformed.
 */
export function resumePoint(
  id: string,
  query: { after?: string },
  lastEventId: string | string[] | undefined,
): number {
  if (query.after !== undefined) {
    if (!/^\d{1,15}$/.test(query.after))
      throw new GatewayError(
        'bad_request',
        400,
        `after must be a frame count (0 or more), not ${JSON.stringify(query.after)}`,
        {
          param: 'after',
        },
      );
    return Number(query.after);
  }
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    const cut = lastEventId.lastIndexOf('-');
    const seq = lastEventId.slice(cut + 1);
    if (cut < 0 || lastEventId.slice(0, cut) !== id || !/^\d{1,15}$/.test(seq))
      throw new GatewayError(
        'bad_request',
        400,
        `Last-Event-ID must be '${id}-<frame number>' as this generation's events carry it, not ${JSON.stringify(lastEventId)}`,
        { param: 'last-event-id' },
      );
    return Number(seq);
  }
  return 0;
}
