import type { Writable } from 'node:stream';

/**
 * Resolves once the client has taken what was written, or has gone. A response that is already closed emits
 * neither `drain` nor `close` again, and a write to it returns false, so that case resolves at once; the
 * caller's next read then fails with the reason the stream was aborted.
 *
 * A client that leaves the buffer full for `timeoutMs` is taken as gone and its response destroyed: a
 * reader that never reads would otherwise hold the upstream stream, and its GPU slot, for ever. What then
 * happens to the generation is the disconnect policy's call, as when a client hangs up.
 */
export function waitForDrain(response: Writable, timeoutMs: number): Promise<void> {
  if (response.destroyed || response.writableFinished || !response.writableNeedDrain) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const stalled = setTimeout(() => response.destroy(), timeoutMs);
    const done = () => {
      clearTimeout(stalled);
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
