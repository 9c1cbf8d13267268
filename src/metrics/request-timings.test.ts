import { describe, expect, it } from 'vitest';
import type { RelayStats } from '../relay/relay-stats.js';
import { gatewayOverheadMs, timeToFirstTokenMs } from './request-timings.js';

function stats(fields: Partial<RelayStats>): RelayStats {
  return { receivedAt: 1000, chunks: 0, ...fields };
}

describe('request timings', () => {
  it('a stream: first token at its first write; overhead is the time before the call and after the chunk', () => {
    // Arrived at 1000, upstream called at 1002, first chunk at 1502, written at 1503.
    const streamed = stats({ upstreamCalledAt: 1002, ttftMs: 500, firstWriteAt: 1503 });
    expect(timeToFirstTokenMs(streamed)).toBe(503);
    expect(gatewayOverheadMs(streamed)).toBe(3);
  });

  it('a collected reply: first token at the first upstream chunk; overhead is the time before the call', () => {
    const collected = stats({ upstreamCalledAt: 1004, ttftMs: 200 });
    expect(timeToFirstTokenMs(collected)).toBe(204);
    expect(gatewayOverheadMs(collected)).toBe(4);
  });

  it('nothing when no token came', () => {
    expect(timeToFirstTokenMs(stats({ upstreamCalledAt: 1002 }))).toBeUndefined();
    expect(gatewayOverheadMs(stats({ upstreamCalledAt: 1002 }))).toBeUndefined();
    expect(timeToFirstTokenMs(stats({}))).toBeUndefined();
  });
});
