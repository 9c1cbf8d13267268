import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
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
    const waiting = waitForDrain(writable, 60_000).then(() => {
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
    const waiting = waitForDrain(writable, 60_000);
    writable.destroy();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('resolves at once when the client had already gone before the write', async () => {
    const { writable } = slowWritable();
    writable.destroy();
    await new Promise((resolve) => writable.once('close', resolve));
    // A write after close returns false and no event will ever follow: waiting for one would hang the relay.
    expect(writable.write('ab')).toBe(false);
    await expect(waitForDrain(writable, 60_000)).resolves.toBeUndefined();
  });

  it('takes a client that leaves the buffer full for the timeout as gone, and destroys its response', async () => {
    vi.useFakeTimers();
    try {
      const { writable } = slowWritable();
      writable.write('ab');
      const waiting = waitForDrain(writable, 1000);
      await vi.advanceTimersByTimeAsync(999);
      expect(writable.destroyed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(writable.destroyed).toBe(true);
      await expect(waiting).resolves.toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves a client that drains in time alone, however many times it fills the buffer', async () => {
    vi.useFakeTimers();
    try {
      const { writable, release } = slowWritable();
      for (let round = 0; round < 3; round++) {
        writable.write('ab');
        const waiting = waitForDrain(writable, 1000);
        await vi.advanceTimersByTimeAsync(900);
        release();
        await waiting;
      }
      // Each wait's own timer is cleared when it drains: none fires later and destroys a healthy stream.
      await vi.advanceTimersByTimeAsync(5000);
      expect(writable.destroyed).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
