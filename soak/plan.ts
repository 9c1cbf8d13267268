// What each soak stream is: a scenario (the fault the upstream injects, or the way the client reads), the
// exact tokens the upstream produces, and where the fault or the client's drop falls. The stream's id travels
// in its user message, so the simulator that receives it knows what to do and the checker knows what to expect.
import type { SimBehaviour } from '../test/support/ollama-simulator.js';

export const SCENARIOS = [
  'complete',
  'hangup-before-first-token',
  'http-500-before-first-token',
  'stall-before-first-token',
  'stall-after-first-token',
  'death-mid-stream',
  'in-band-error',
  'end-without-done',
  'slow-client',
  'never-reading-client',
  'client-abort',
  'resume',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Relative frequency; the plain stream dominates, as in real traffic, and every fault occurs every few seconds. */
const WEIGHTS: Record<Scenario, number> = {
  complete: 40,
  'hangup-before-first-token': 5,
  'http-500-before-first-token': 5,
  'stall-before-first-token': 3,
  'stall-after-first-token': 3,
  'death-mid-stream': 5,
  'in-band-error': 5,
  'end-without-done': 3,
  'slow-client': 8,
  'never-reading-client': 1,
  'client-abort': 8,
  resume: 8,
};

/** Scenarios whose fault is injected on the first attempt only: the gateway's retry must then succeed. */
export const RETRIED: ReadonlySet<Scenario> = new Set([
  'hangup-before-first-token',
  'http-500-before-first-token',
]);

export interface StreamPlan {
  id: number;
  scenario: Scenario;
  tokens: string[];
  /** Tokens relayed before the fault (mid-stream faults) or before the client drops (abort, resume). */
  cut: number;
  tokenDelayMs: number;
  /** The in-band error's message. */
  message: string;
}

export interface PlanShape {
  /** Mean gap between tokens of an ordinary stream. */
  tokenDelayMs: number;
  /** Tokens per ordinary stream: from min to max. */
  minTokens: number;
  maxTokens: number;
  /** never-reading-client: the reply's size, large enough that no socket buffer holds it. */
  neverReadingBytes: number;
}

/** Seeded, so a run can be repeated with `--seed`. */
export { seededRandom as random } from '../test/support/seeded-random.js';

const TOTAL_WEIGHT = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

function pickScenario(r: number): Scenario {
  let left = r * TOTAL_WEIGHT;
  for (const scenario of SCENARIOS) {
    left -= WEIGHTS[scenario];
    if (left < 0) return scenario;
  }
  return 'complete';
}

export function planStream(id: number, rand: () => number, shape: PlanShape): StreamPlan {
  const scenario = pickScenario(rand());
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  let count = between(shape.minTokens, shape.maxTokens);
  let size = 0;
  let tokenDelayMs = Math.round(shape.tokenDelayMs * (0.5 + rand()));
  if (scenario === 'slow-client') {
    // Bursts of kilobyte tokens that the client reads slower than they come: the relay must wait for it.
    size = 1024;
    tokenDelayMs = 0;
  }
  if (scenario === 'never-reading-client') {
    // Few large pieces: the same bytes at a fraction of the allocations in the process that plays every side.
    size = 64 * 1024;
    count = Math.ceil(shape.neverReadingBytes / size);
    tokenDelayMs = 0;
  }
  return {
    id,
    scenario,
    tokens: tokensOf(id, count, size),
    cut: between(1, count - 1),
    tokenDelayMs,
    message: inBandMessage(id),
  };
}

/** Unique, ordered pieces: a lost, repeated or reordered token cannot go unnoticed. */
function tokensOf(id: number, count: number, size: number): string[] {
  const pad = size > 0 ? 'x'.repeat(size) : '';
  return Array.from({ length: count }, (_, i) => {
    const piece = ` s${id}t${i}`;
    return size > piece.length ? piece + pad.slice(piece.length) : piece;
  });
}

const inBandMessage = (id: number) => `soak in-band error for stream ${id}`;

/** The user message: everything the simulator needs to play its part, so it can run in another process. */
export function requestContent(plan: StreamPlan): string {
  const size = plan.tokens[0]?.length ?? 0;
  const padded = size > ` s${plan.id}t0`.length ? size : 0;
  return `soak stream ${plan.id} ${plan.scenario} cut=${plan.cut} tokens=${plan.tokens.length} size=${padded} delay=${plan.tokenDelayMs}`;
}

export function planFromContent(content: string): StreamPlan | undefined {
  const match = /^soak stream (\d+) ([a-z0-9-]+) cut=(\d+) tokens=(\d+) size=(\d+) delay=(\d+)$/.exec(
    content,
  );
  if (!match) return undefined;
  const [, id, scenario, cut, count, size, delay] = match.map(String);
  if (!(SCENARIOS as readonly string[]).includes(scenario as string)) return undefined;
  return {
    id: Number(id),
    scenario: scenario as Scenario,
    tokens: tokensOf(Number(id), Number(count), Number(size)),
    cut: Number(cut),
    tokenDelayMs: Number(delay),
    message: inBandMessage(Number(id)),
  };
}

/** What the upstream does on this attempt (the first is 1). */
export function behaviourFor(plan: StreamPlan, attempt: number): SimBehaviour {
  const base: SimBehaviour = { tokens: plan.tokens, tokenDelayMs: plan.tokenDelayMs };
  if (attempt > 1 && RETRIED.has(plan.scenario)) return base;
  switch (plan.scenario) {
    case 'hangup-before-first-token':
      return { ...base, midStream: { afterChunks: 0, mode: 'destroy' } };
    case 'http-500-before-first-token':
      return { ...base, preError: { status: 500, error: `soak: runner failed before stream ${plan.id}` } };
    case 'stall-before-first-token':
      return { ...base, stallBeforeFirstChunk: true };
    case 'stall-after-first-token':
      return { ...base, midStream: { afterChunks: plan.cut, mode: 'stall' } };
    case 'death-mid-stream':
      return { ...base, midStream: { afterChunks: plan.cut, mode: 'destroy' } };
    case 'in-band-error':
      return { ...base, midStream: { afterChunks: plan.cut, mode: 'error-line', message: plan.message } };
    case 'end-without-done':
      return { ...base, midStream: { afterChunks: plan.cut, mode: 'end-without-done' } };
    default:
      return base;
  }
}

export function streamIdOf(content: string): number | undefined {
  const match = /^soak stream (\d+) /.exec(content);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
