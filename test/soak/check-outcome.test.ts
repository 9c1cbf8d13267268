import { describe, expect, it } from 'vitest';
import { type AttemptEnd, judge } from '../../soak/check-outcome.js';
import type { Seen } from '../../soak/client.js';
import type { Scenario, StreamPlan } from '../../soak/plan.js';

const TOKENS = [' a', ' b', ' c', ' d'];
const plan = (scenario: Scenario, cut = 2): StreamPlan => ({
  id: 7,
  scenario,
  tokens: TOKENS,
  cut,
  tokenDelayMs: 0,
  message: 'boom',
});
const chunk = (content: string) => ({ message: { role: 'assistant', content }, done: false });
const DONE = { message: { role: 'assistant', content: '' }, done: true };
const seen = (lines: Array<Record<string, unknown>>, more: Partial<Seen> = {}): Seen => ({
  status: 200,
  upstream: 'h1',
  generationId: 'gen_1',
  lines,
  partial: '',
  dropped: false,
  startedAt: 0,
  endedAt: 1,
  ...more,
});
const finished: AttemptEnd[] = [{ host: 'h1', aborted: false, bytesSent: 100, at: 0 }];
const aborted: AttemptEnd[] = [{ host: 'h1', aborted: true, bytesSent: 100, at: 0 }];
const whole = [...TOKENS.map(chunk), DONE];

describe('the soak outcome checker', () => {
  it('accepts the complete reply, and tokens then the one promised error frame', () => {
    expect(judge(plan('complete'), seen(whole), finished, false).violations).toEqual([]);
    const inBand = seen([chunk(' a'), chunk(' b'), { error: 'boom' }]);
    expect(judge(plan('in-band-error'), inBand, finished, false).violations).toEqual([]);
  });

  it.each<[string, Scenario, Seen, AttemptEnd[], RegExp]>([
    [
      'a lost token',
      'complete',
      seen([chunk(' a'), chunk(' c'), chunk(' d'), DONE]),
      finished,
      /token 1 is not/,
    ],
    [
      'a repeated token',
      'complete',
      seen([chunk(' a'), chunk(' a'), chunk(' b'), chunk(' c'), chunk(' d'), DONE]),
      finished,
      /5 tokens, more than the 4 sent/,
    ],
    ['a silent end', 'complete', seen(TOKENS.map(chunk)), finished, /not the complete reply/],
    ['a line after the end', 'complete', seen([...whole, chunk(' e')]), finished, /a line after/],
    [
      'two error frames',
      'death-mid-stream',
      seen([chunk(' a'), chunk(' b'), { error: 'lost mid-stream' }, { error: 'again' }]),
      finished,
      /2 error frames/,
    ],
    [
      'the wrong in-band message',
      'in-band-error',
      seen([chunk(' a'), chunk(' b'), { error: 'other' }]),
      finished,
      /error frame "other"/,
    ],
    [
      'a 500 where a retry was promised',
      'http-500-before-first-token',
      seen([{ error: 'x' }], { status: 502 }),
      finished,
      /status 502/,
    ],
    [
      'a client abort that did not free the upstream',
      'client-abort',
      seen([chunk(' a'), chunk(' b')], { dropped: true, droppedAt: 0 }),
      [{ host: 'h1', aborted: false, bytesSent: 9, at: 5000 }],
      /upstream request was not aborted/,
    ],
    [
      'a stalled upstream left running',
      'stall-before-first-token',
      seen([{ error: 'timed out after 10 ms waiting for the first token' }], { status: 504 }),
      finished,
      /not aborted/,
    ],
    [
      'a resume missing frames',
      'resume',
      seen([chunk(' a'), chunk(' b')], {
        dropped: true,
        resumed: { status: 200, lines: [chunk(' d'), DONE], partial: '' },
      }),
      finished,
      /token 2 is not/,
    ],
  ])('flags %s', (_, scenario, what, attempts, message) => {
    const { violations } = judge(plan(scenario), what, attempts, false);
    expect(violations.join('\n')).toMatch(message);
  });

  it('across a host restart, still requires a done line or exactly one error frame', () => {
    const cut = seen([chunk(' a'), { error: 'connection lost mid-stream' }]);
    expect(judge(plan('complete'), cut, aborted, true).violations).toEqual([]);
    expect(judge(plan('complete'), seen([chunk(' a')]), aborted, true).violations.join()).toMatch(
      /without a done or error/,
    );
  });
});
