import type { Writable } from 'node:stream';

/**
 * Resolves once the client has taken what was written, or has gone. A response that is already closed emits
 * neither `drain` nor `close` again, and a write to it returns false, so that case resolves at once; the
 * caller's next read then fails with the reason the stream was aborted.
 */
export function waitForDrain(response: Writable): Promise<void> {
  if (response.destroyed || response.writableFinished || !response.writableNeedDrain) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
