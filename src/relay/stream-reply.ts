import type { ServerResponse } from 'node:http';
import type { ChunkBatch } from '../contracts/chat-chunk.js';
import type { GatewayError } from '../contracts/gateway-error.js';
import type { RelayStats } from './relay-stats.js';
import type { UpstreamCall } from './upstream-call.js';

export interface StreamEncoder {
  contentType: string;
  batch(batch: ChunkBatch): Buffer | string;
  errorLine(message: string): string;
}

/**
 * Relays a stream whose first batch has arrived: commits status and headers, then writes each batch as it
 * arrives, one write per upstream read. Once committed, a failure can only be reported in-band, so every
 * early end becomes the encoder's error line: the client never sees a silently truncated stream.
 */
export async function streamReply(options: {
  call: UpstreamCall;
  first: ChunkBatch;
  response: ServerResponse;
  headers: Record<string, string | number | string[] | undefined>;
  encoder: StreamEncoder;
  stats: RelayStats;
}): Promise<void> {
  const { call, response, encoder, stats } = options;
  response.writeHead(200, {
    ...options.headers,
    'content-type': encoder.contentType,
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  stats.ttftMs = call.firstChunkMs;
  let batch: ChunkBatch | undefined = options.first;
  try {
    while (batch !== undefined) {
      const last = batch[batch.length - 1];
      stats.chunks += batch.length;
      const flushed = response.write(encoder.batch(batch));
      if (last?.type === 'done') {
        stats.tokens = last.usage.completionTokens;
        response.end();
        break;
      }
      if (!flushed) await drained(call, response);
      batch = await call.next();
    }
  } catch (error) {
    const failure = error as GatewayError;
    if (failure.code === 'client_closed') {
      response.destroy();
    } else {
      stats.error = failure.message;
      response.end(encoder.errorLine(failure.message));
    }
    call.dispose();
    return;
  }
  await call.finish();
}

/** Waits until the client has taken what was written, or has gone (the call then fails with client_closed). */
function drained(call: UpstreamCall, response: ServerResponse): Promise<void> {
  call.pauseIdle();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      call.resumeIdle();
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
