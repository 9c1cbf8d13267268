import { type ChatwireClient, createClient } from '../../client/index';
import { storedKey } from './key-storage';

/**
 * A burst of buffered reply (a tab brought back, a fast model) can arrive as one 64 kB read, thousands of
 * lines the SDK would parse in one go. Cut into pieces this size, each read costs a few milliseconds, and
 * the page renders and answers keys between them.
 */
const PIECE_BYTES = 4096;

const inPieces = () =>
  new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (let at = 0; at < chunk.length; at += PIECE_BYTES)
        controller.enqueue(chunk.subarray(at, at + PIECE_BYTES));
    },
  });

/** Statuses whose response may not have a body: a Response built with one throws. */
const NO_BODY = new Set([101, 204, 205, 304]);

const piecewiseFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.body === null || NO_BODY.has(response.status)) return response;
  return new Response(response.body.pipeThrough(inPieces()), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};

/** The page talks to the chatwire that served it, through the same SDK apps use. */
export function clientFor(apiKey = storedKey()): ChatwireClient {
  return createClient({
    baseUrl: location.origin,
    fetch: piecewiseFetch,
    ...(apiKey !== undefined && { apiKey }),
  });
}
