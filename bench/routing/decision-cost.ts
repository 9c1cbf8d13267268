import { conversationBlocks, PrefixHasher } from '../../src/upstream/pool/prefix-blocks.js';
import { type Placement, RoutedHost, Router } from '../../src/upstream/pool/router.js';
import { EPOCH_MS, MAX_STREAMS } from './constants.js';
import { Conversation } from './conversation.js';
import type { SimRequest } from './request.js';
import { SimHost } from './sim-host.js';
import type { RouterFactory, Ticket } from './sim-router.js';
import type { Workload } from './trace.js';

/** The decision cost is measured on this many hosts, more than any simulated cluster. */
export const COST_HOSTS = 16;
/** Requests kept in flight while timing, so hosts are half busy and slots both busy and idle. */
const IN_FLIGHT = 32;
const STEP_MS = 50;

export interface DecisionCost {
  router: string;
  workload: string;
  decisions: number;
  /** route() and the matching finish()/done(), per request. */
  decisionUs: number;
  /** chatwire only: conversationBlocks(messages), and the prompt-plus-reply hash finish() is given. */
  hashPromptUs?: number;
  hashFinishUs?: number;
}

/** The workload's calls in a plausible interleaving: each session's in order, sessions overlapping. */
function requestsOf(workload: Workload): SimRequest[] {
  const requests: { at: number; request: SimRequest }[] = [];
  for (const trace of workload.sessions) {
    const conversation = new Conversation(trace);
    let at = EPOCH_MS + trace.startMs;
    while (!conversation.done) {
      at += conversation.nextDelayMs + 8_000;
      requests.push({ at, request: conversation.request(at) });
    }
  }
  return requests.sort((a, b) => a.at - b.at).map((r) => r.request);
}

/** Runs `step` over the requests round after round, untimed for the first quarter, then timed. */
function timeLoop(count: number, minDecisions: number, step: (i: number) => void): { us: number; n: number } {
  const warm = Math.min(2_000, Math.floor(count / 4));
  for (let i = 0; i < warm; i++) step(i);
  let n = 0;
  const started = performance.now();
  let elapsed = 0;
  while (n < minDecisions || elapsed < 200) {
    for (let i = warm; i < count; i++) step(i);
    n += count - warm;
    elapsed = performance.now() - started;
  }
  return { us: (elapsed * 1000) / n, n };
}

export function measureChatwire(workload: Workload, minDecisions: number): DecisionCost {
  const requests = requestsOf(workload);
  const blocks = requests.map((r) => conversationBlocks(r.messages));
  const finals = requests.map((r) => new PrefixHasher().pushMessages([...r.messages, r.reply]).blocks());
  const hosts = Array.from(
    { length: COST_HOSTS },
    (_, i) => new RoutedHost({ name: `host-${i}`, maxStreams: MAX_STREAMS }),
  );
  for (const host of hosts) host.setLoaded(workload.models, EPOCH_MS);
  const router = new Router();
  const ring: { placement: Placement; index: number }[] = [];
  let now = EPOCH_MS;
  const decision = timeLoop(requests.length, minDecisions, (i) => {
    const request = requests[i] as SimRequest;
    now += STEP_MS;
    const placement = router.route(
      hosts,
      { model: request.model, blocks: blocks[i] as Uint32Array, affinityKey: request.sessionId },
      now,
    );
    if (placement !== undefined) ring.push({ placement, index: i });
    if (ring.length > IN_FLIGHT) {
      const done = ring.shift() as (typeof ring)[number];
      done.placement.finish(now, finals[done.index]);
    }
  });
  let sink = 0;
  const hashPrompt = timeLoop(requests.length, Math.min(minDecisions, requests.length * 2), (i) => {
    sink += conversationBlocks((requests[i] as SimRequest).messages).length;
  });
  const hashFinish = timeLoop(requests.length, Math.min(minDecisions, requests.length * 2), (i) => {
    const request = requests[i] as SimRequest;
    sink += new PrefixHasher().pushMessages([...request.messages, request.reply]).blocks().length;
  });
  if (sink < 0) throw new Error('unreachable');
  return {
    router: 'chatwire',
    workload: workload.name,
    decisions: decision.n,
    decisionUs: decision.us,
    hashPromptUs: hashPrompt.us,
    hashFinishUs: hashFinish.us,
  };
}

export function measureBaseline(
  workload: Workload,
  factory: RouterFactory,
  minDecisions: number,
): DecisionCost {
  const requests = requestsOf(workload);
  const all = Array.from({ length: COST_HOSTS }, (_, i) => i);
  const router = factory({
    hostCount: COST_HOSTS,
    seed: 1,
    models: workload.models.map((name) => ({ name, share: 1 / workload.models.length })),
    eligible: () => all,
    hosts: all.map((i) => new SimHost(i, MAX_STREAMS, workload.modelCap)),
  });
  const ring: Ticket[] = [];
  let now = EPOCH_MS;
  const decision = timeLoop(requests.length, minDecisions, (i) => {
    now += STEP_MS;
    const ticket = router.route(requests[i] as SimRequest, now);
    if (ticket !== undefined) ring.push(ticket);
    if (ring.length > IN_FLIGHT) (ring.shift() as Ticket).done(now);
  });
  return { router: router.name, workload: workload.name, decisions: decision.n, decisionUs: decision.us };
}
