import type { ServerResponse } from 'node:http';
import { waitForDrain } from '../relay/wait-for-drain.js';
import { errorFrame } from './error-frame.js';
import { generationErrors } from './generation-errors.js';
import type { GenerationReader } from './generation-types.js';
import { joinFrames } from './join-frames.js';

/**
 * Sends a generation's frames after `after` to one client, live until the terminal frame, which ends the
 * response. The reader keeps every frame, so a slow client only waits for its own socket: it never holds up
 * the producer. A client that falls so far behind that its next frames were evicted gets one error frame.
 */
export async function pumpFrames(
  reader: GenerationReader,
  response: ServerResponse,
  after: number,
  /** How long the client may leave its buffer full before it is taken as gone (see waitForDrain). */
  sendMs: number,
): Promise<void> {
  const left = new AbortController();
  const onClose = () => left.abort();
  response.once('close', onClose);
  let seq = after;
  try {
    while (!response.destroyed) {
      if (response.writableNeedDrain) await waitForDrain(response, sendMs);
      const read = await reader.read(seq, left.signal);
      if (left.signal.aborted) return;
      if (read === 'evicted') {
        response.end(errorFrame(reader.info.format, generationErrors.fellBehind()));
        return;
      }
      const flushed = read.frames.length === 0 || response.write(joinFrames(read.frames));
      seq += read.frames.length;
      if (read.end) {
        response.end();
        return;
      }
      if (!flushed) await waitForDrain(response, sendMs);
    }
  } finally {
    response.off('close', onClose);
  }
}
