import { describe, expect, it } from 'vitest';
import { FrameLog } from './frame-log.js';

const open = () => new AbortController().signal;

describe('FrameLog', () => {
  it('numbers frames from 1 and reads those after a number', async () => {
    const log = new FrameLog();
    for (const frame of ['a\n', 'b\n', 'c\n']) log.append(frame);
    expect(await log.read(0, open())).toEqual({ frames: ['a\n', 'b\n', 'c\n'], end: false });
    expect(await log.read(2, open())).toEqual({ frames: ['c\n'], end: false });
    expect(log.bytes).toBe(6);
  });

  it('wakes a waiting reader on the next batch, and says when the log has ended', async () => {
    const log = new FrameLog();
    const waiting = log.read(0, open());
    log.append('a\n');
    log.wake();
    expect(await waiting).toEqual({ frames: ['a\n'], end: false });
    const last = log.read(1, open());
    log.append('{"done":true}\n');
    log.end();
    expect(await last).toEqual({ frames: ['{"done":true}\n'], end: true });
    expect(await log.read(2, open())).toEqual({ frames: [], end: true });
  });

  it('evicts the oldest frames past a limit: reading them is "evicted", later ones are still served', async () => {
    const log = new FrameLog();
    for (let index = 1; index <= 10; index++) log.append(`${index}\n`);
    // 21 bytes: nine of 2 and one of 3. At most 8 kept: 8, 9 and 10.
    expect(log.evictTo(8)).toBe(14);
    expect(log.firstSeq).toBe(8);
    expect(log.bytes).toBe(7);
    expect(await log.read(6, open())).toBe('evicted');
    expect(await log.read(7, open())).toEqual({ frames: ['8\n', '9\n', '10\n'], end: false });
    log.evictTo(0);
    log.append('11\n');
    expect(await log.read(10, open())).toEqual({ frames: ['11\n'], end: false });
    expect(await log.read(9, open())).toBe('evicted');
  });

  it('an aborted wait returns nothing, without an end', async () => {
    const log = new FrameLog();
    const controller = new AbortController();
    const waiting = log.read(0, controller.signal);
    controller.abort();
    expect(await waiting).toEqual({ frames: [], end: false });
  });
});
