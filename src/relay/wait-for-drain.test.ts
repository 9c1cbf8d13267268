import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { waitForDrain } from './wait-for-drain.js';

/** A writable whose buffer fills after one byte and only empties when `release` is called. */
function slowWritable() {
  let release = () => {};
  const writable = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      release = () => callback();
    },
  });
  return { writable, release: () => release() };
}

describe('waitForDrain', () => {
  it('waits for drain while the buffer is full', async () => {
    const { writable, release } = slowWritable();
    expect(writable.write('ab')).toBe(false);
    let resolved = false;
    const waiting = waitForDrain(writable).then(() => {
      resolved = true;
    });
    await Promise.resolve();
    expect(resolved).toBe(false);
    release();
    await waiting;
    expect(resolved).toBe(true);
  });

  it('resolves when the client goes while it waits', async () => {
    const { writable } = slowWritable();
    writable.write('ab');
    const waiting = waitForDrain(writable);
    writable.destroy();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('resolves at once when the client had already gone before the write', async () => {
    const { writable } = slowWritable();
    writable.destroy();
    await new Promise((resolve) => writable.once('close', resolve));
    // A write after close returns false and no event will ever follow: waiting for one would hang the relay.
    expect(writable.write('ab')).toBe(false);
    await expect(waitForDrain(writable)).resolves.toBeUndefined();
  });
});
