import type { Dispatcher } from 'undici';

/** Reads at most `limit` bytes of a body as text (error bodies are for messages, not for buffering). */
export async function readBounded(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const pieces: Buffer[] = [];
  let length = 0;
  try {
    for await (const piece of body) {
      pieces.push(piece as Buffer);
      length += (piece as Buffer).length;
      if (length >= limit) break;
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  if (length >= limit) body.destroy();
  return Buffer.concat(pieces).subarray(0, limit).toString('utf8');
}
