import { describe, expect, it } from 'vitest';
import { type Figures, verdict } from '../../soak/verdict.js';

const GOOD: Figures = {
  streams: 100,
  outcomeViolations: 0,
  rssSlopeMiBPerMinute: 0.4,
  rssSlopeLimitMiBPerMinute: 1,
  fdBaseline: 38,
  fdAfter: 38,
  alarms: 0,
  leftOpen: 0,
  exited: false,
};

describe('the soak verdict', () => {
  it('passes a run that kept every promise', () => {
    expect(verdict(GOOD)).toEqual([]);
  });

  it.each<[string, Partial<Figures>, RegExp]>([
    ['a wrong outcome', { outcomeViolations: 1 }, /1 streams did not get what the failure table promises/],
    ['an RSS slope over the limit', { rssSlopeMiBPerMinute: 1.5 }, /RSS grew 1.50 MiB\/min/],
    ['an RSS slope that could not be computed', { rssSlopeMiBPerMinute: Number.NaN }, /RSS grew NaN/],
    ['fds not back at their baseline', { fdAfter: 39 }, /open fds did not return to baseline: 39 vs 38/],
    ['a warning or unhandled rejection logged', { alarms: 2 }, /2 warnings, errors or unhandled rejections/],
    ['a stream left open', { leftOpen: 1 }, /1 streams still open/],
    ['the gateway dying', { exited: true }, /the gateway exited/],
    ['no stream at all', { streams: 0 }, /no stream ran/],
  ])('fails on %s', (_, change, message) => {
    const out = verdict({ ...GOOD, ...change });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(message);
  });
});
