// What is measured: the scenarios of the benchmark issue, and the two ways of reaching the upstream.
import type { Target } from './load.js';
import type { Child, FloorKind } from './processes.js';

/** The benchmark issue's targets; a scenario judges only the ones it sets. Zero errors is always required. */
export interface LoadTargets {
  /** chatwire's TTFT p50 minus direct's, ms. */
  ttftOverheadP50Ms?: number;
  /** chatwire's tokens/s over direct's, at least. */
  throughputRatio?: number;
  cpuMicrosPerToken?: number;
  peakRssMiB?: number;
  /** chatwire's CPU per token at most `ratio` × that of the scenario `of` (a translation's extra cost). */
  cpuVersus?: { of: string; ratio: number };
}

/** chatwire's streaming routes: its own, Ollama's and OpenAI's. */
export type ChatwireRoute = '/v1/chat' | '/api/chat' | '/v1/chat/completions';

export interface LoadScenario {
  kind: 'load';
  id: string;
  title: string;
  /** Where the load generator sends chatwire's requests (direct always uses the upstream's /api/chat). */
  route: ChatwireRoute;
  requests: number;
  concurrency: number;
  tokens: number;
  delayMs: number;
  /** Requests run before measuring, at full concurrency, so both connection pools are open and warm. */
  warmup: number;
  targets: LoadTargets;
  /** Whether the floor relays are measured too (they take /api/chat as direct does, whatever the route). */
  floors: boolean;
}

export interface AbortScenario {
  kind: 'abort';
  id: string;
  title: string;
  samples: number;
  /** Aborted streams before the measured ones, so the abort path runs optimised. */
  warmup: number;
  tokens: number;
  delayMs: number;
  targets: { p99Ms: number };
}

export type Scenario = LoadScenario | AbortScenario;

/** The model name both targets use; chatwire gets it as CHATWIRE_MODEL, so replies are byte-identical. */
export const MODEL = 'bench';

/** `quick`: the same shapes with smaller counts, about 30 seconds in all. */
export function plan(quick: boolean): Scenario[] {
  const n = (full: number, smoke: number) => (quick ? smoke : full);
  const abortSamples = n(50, 20);
  const throughput: LoadTargets = { ttftOverheadP50Ms: 5, throughputRatio: 0.8, cpuMicrosPerToken: 5 };
  // Warm-ups long enough for V8 to optimise each relay's per-request path, which takes on the order of a
  // thousand requests: with 20, chatwire's (a) ran at twice its steady CPU per request and TTFT.
  const manyStreamsWarmup = n(640, 320);
  return [
    load('a', 'latency: 1 stream at a time', n(200, 50), 1, 32, 0, n(2_000, 1_000), {
      ttftOverheadP50Ms: 0.5,
    }),
    // The CPU budget is judged here, where per-token work dominates per-request work.
    load('b', 'throughput: 64 concurrent streams', n(1_000, 200), 64, 256, 0, manyStreamsWarmup, throughput),
    load('c', 'many slow streams: 1,000 concurrent', n(2_000, 1_000), 1_000, 20, 50, 1_000, {
      ttftOverheadP50Ms: 100,
      peakRssMiB: 120,
    }),
    {
      kind: 'abort',
      id: 'd',
      title: `abort: the client leaves after the first token, ${abortSamples} samples one at a time (upstream: 200 tokens 20 ms apart)`,
      samples: abortSamples,
      warmup: n(200, 50),
      // Long enough that every stream is still running when its client leaves.
      tokens: 200,
      delayMs: 20,
      targets: { p99Ms: 5 },
    },
    // (b) again on the other protocols: Ollama's route relays the upstream's bytes, OpenAI's translates
    // every chunk to SSE, which may cost at most 1.5 times the NDJSON path's CPU.
    load(
      'e',
      "throughput on Ollama's /api/chat",
      n(1_000, 200),
      64,
      256,
      0,
      manyStreamsWarmup,
      throughput,
      '/api/chat',
    ),
    load(
      'f',
      "throughput on OpenAI's /v1/chat/completions (SSE)",
      n(1_000, 200),
      64,
      256,
      0,
      manyStreamsWarmup,
      {
        ...throughput,
        cpuVersus: { of: 'e', ratio: 1.5 },
      },
      '/v1/chat/completions',
    ),
  ];
}

function load(
  id: string,
  what: string,
  requests: number,
  concurrency: number,
  tokens: number,
  delayMs: number,
  warmup: number,
  targets: LoadTargets,
  route: ChatwireRoute = '/v1/chat',
): LoadScenario {
  const pace = delayMs > 0 ? `${delayMs} ms apart` : 'no delay';
  const title = `${what}, ${requests.toLocaleString('en-US')} requests × ${tokens} tokens, ${pace}`;
  // (e) and (f) are (b) again on other routes: the floors would measure exactly what they did in (b).
  const floors = route === '/v1/chat';
  return { kind: 'load', id, title, route, requests, concurrency, tokens, delayMs, warmup, targets, floors };
}

export function directTarget(upstream: Child, tokens: number): Target {
  return {
    name: 'direct',
    origin: upstream.origin,
    path: '/api/chat',
    format: 'ndjson',
    body: (tag) =>
      JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: tag }],
        stream: true,
        options: { num_predict: tokens },
      }),
  };
}

/** A floor relay forwards the direct target's requests unchanged. */
export function floorTarget(kind: FloorKind, floor: Child, tokens: number): Target {
  return { ...directTarget(floor, tokens), name: `${kind} floor` };
}

export function chatwireTarget(chatwire: Child, route: ChatwireRoute = '/v1/chat'): Target {
  const messages = (tag: string) => [{ role: 'user', content: tag }];
  switch (route) {
    case '/v1/chat':
      return {
        name: 'chatwire',
        origin: chatwire.origin,
        path: route,
        format: 'ndjson',
        body: (tag) => JSON.stringify({ messages: messages(tag) }),
      };
    case '/api/chat':
      return {
        name: 'chatwire',
        origin: chatwire.origin,
        path: route,
        format: 'ndjson',
        body: (tag) => JSON.stringify({ model: MODEL, messages: messages(tag), stream: true }),
      };
    case '/v1/chat/completions':
      return {
        name: 'chatwire',
        origin: chatwire.origin,
        path: route,
        format: 'sse',
        // The usage chunk carries completion_tokens, so every reply's token count can be checked.
        body: (tag) =>
          JSON.stringify({
            model: MODEL,
            messages: messages(tag),
            stream: true,
            stream_options: { include_usage: true },
          }),
      };
  }
}

/** What chatwire needs to talk to the bench upstream; any other CHATWIRE_* variable passes through. */
export function chatwireEnvFor(upstream: Child, tokens: number): Record<string, string> {
  return {
    OLLAMA_HOST: upstream.origin,
    CHATWIRE_HOST: '127.0.0.1',
    CHATWIRE_MODEL: MODEL,
    CHATWIRE_MAX_TOKENS: String(tokens),
    // Quiet by default: the relay is measured, not pino. CHATWIRE_LOG_LEVEL=info includes the request log.
    CHATWIRE_LOG_LEVEL: process.env.CHATWIRE_LOG_LEVEL ?? 'warn',
  };
}
