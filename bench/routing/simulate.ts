import { PATIENCE_STEPS_MS } from '../../src/upstream/pool/router.js';
import { EPOCH_MS, MAX_STREAMS, PS_POLL_MS, QUEUE_TIMEOUT_MS, SLOTS_PER_MODEL } from './constants.js';
import { Conversation } from './conversation.js';
import { EventQueue } from './event-queue.js';
import type { SimRequest } from './request.js';
import { SimHost } from './sim-host.js';
import type { RouterFactory, Ticket } from './sim-router.js';
import type { Workload } from './trace.js';

export interface SimResult {
  router: string;
  workload: string;
  hosts: number;
  requests: number;
  promptTokens: number;
  evaluatedTokens: number;
  /** Share of prompt tokens the hosts found in a slot. */
  hitRate: number;
  coldLoads: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  waitP95Ms: number;
  maxWaitMs: number;
  failures: number;
  /** Time-averaged in-flight per host: the busiest host's over the mean. */
  inFlightMaxOverMean: number;
  peakInFlight: number;
  /** Streams busy over the run, as a share of all streams. */
  utilisation: number;
  /** Calls after a session's first that went to the host of its previous call. */
  stickiness: number;
  /** Requests that waited in the gateway's queue because the router found no host with room. */
  queuedAtGateway: number;
  /** Requests the router's own estimate of the cached share was off by more than a quarter of the prompt. */
  mispredicted?: number;
  meanPredictedShare?: number;
  meanActualShare: number;
  durationS: number;
  /** Prompt tokens no router can avoid: each call's new messages, as if every conversation stayed cached. */
  floorTokens: number;
  /** Sessions between their first call and their last reply, per prompt-cache slot, time-averaged. */
  liveSessionsPerSlot: number;
  /** Slots overwritten while holding another conversation; "hot" ones had been idle under 3 s. */
  evictions: number;
  hotEvictions: number;
  diagnostics: Record<string, number>;
}

type Event =
  | { kind: 'call'; conversation: Conversation }
  | { kind: 'end'; request: SimRequest; ticket: Ticket }
  | { kind: 'poll' }
  /** A queued request's patience step: the server's wait queue tries it again then, unwoken. */
  | { kind: 'nudge' };

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Replays a workload through one router on `hostCount` fresh hosts, in simulated time. */
export function simulate(
  workload: Workload,
  hostCount: number,
  factory: RouterFactory,
  seed: number,
): SimResult {
  const hosts = Array.from({ length: hostCount }, (_, i) => new SimHost(i, MAX_STREAMS, workload.modelCap));
  const all = hosts.map((_, i) => i);
  const models = workload.models.map((name) => ({
    name,
    share: workload.sessions.filter((s) => s.model === name).length / workload.sessions.length,
  }));
  const router = factory({ hostCount, seed, models, eligible: () => all, hosts });
  const events = new EventQueue<Event>();
  const gatewayQueue: SimRequest[] = [];
  const finished: SimRequest[] = [];
  const lastHost = new Map<string, number>();
  let predicted = 0;
  let predictedSum = 0;
  let mispredicted = 0;
  let kept = 0;
  let continued = 0;
  let activeSessions = workload.sessions.length;
  let live = 0;
  let liveArea = 0;
  let lastEventAt = 0;
  let floorTokens = 0;
  let queuedAtGateway = 0;
  const lastFull = new Map<string, number>();

  for (const trace of workload.sessions) {
    events.push(EPOCH_MS + trace.startMs, { kind: 'call', conversation: new Conversation(trace) });
  }
  events.push(EPOCH_MS, { kind: 'poll' });

  const ticketOf = new Map<number, Ticket>();
  const callsOf = new Map<number, Conversation>();
  const started = (list: SimRequest[]) => {
    for (const request of list) {
      events.push(request.endMs, { kind: 'end', request, ticket: ticketOf.get(request.id) as Ticket });
    }
  };
  const dispatch = (request: SimRequest, ticket: Ticket, now: number) => {
    ticketOf.set(request.id, ticket);
    const host = hosts[ticket.host] as SimHost;
    request.loadedWhenRouted = host.isLoaded(request.model);
    started(host.submit(request, now));
  };
  // As the server's WaitQueue: every waiter, oldest first, takes what room it can; none blocks the others.
  const drainGateway = (now: number) => {
    for (const request of [...gatewayQueue]) {
      const ticket = router.route(request, now);
      if (ticket === undefined) continue;
      gatewayQueue.splice(gatewayQueue.indexOf(request), 1);
      dispatch(request, ticket, now);
    }
  };

  let firstArrival = Number.POSITIVE_INFINITY;
  let lastEnd = 0;
  for (let event = events.pop(); event !== undefined; event = events.pop()) {
    const now = event.at;
    const item = event.value;
    liveArea += live * (now - lastEventAt);
    lastEventAt = now;
    if (item.kind === 'poll') {
      router.poll?.(now);
      if (activeSessions > 0) events.push(now + PS_POLL_MS, { kind: 'poll' });
      drainGateway(now);
    } else if (item.kind === 'nudge') {
      drainGateway(now);
    } else if (item.kind === 'call') {
      const request = item.conversation.request(now);
      if (request.call === 0) live++;
      const trace = item.conversation.trace;
      const known =
        lastFull.get(request.sessionId) ?? trace.initial.reduce((n, m) => n + m.tokens.length + 1, 0);
      floorTokens += request.prompt.length - known;
      lastFull.set(request.sessionId, request.full.length);
      firstArrival = Math.min(firstArrival, now);
      callsOf.set(request.id, item.conversation);
      // A new request asks at once, as the server's pool does, whoever else is waiting.
      const ticket = router.route(request, now);
      if (ticket === undefined) {
        gatewayQueue.push(request);
        queuedAtGateway++;
        for (const step of PATIENCE_STEPS_MS) events.push(now + step, { kind: 'nudge' });
      } else dispatch(request, ticket, now);
    } else {
      const { request, ticket } = item;
      ticketOf.delete(request.id);
      lastEnd = now;
      ticket.done(now);
      finished.push(request);
      if (ticket.predictedCachedShare !== undefined) {
        predicted++;
        predictedSum += ticket.predictedCachedShare;
        const actual = request.cachedTokens / request.prompt.length;
        if (Math.abs(ticket.predictedCachedShare - actual) > 0.25) mispredicted++;
      }
      const previous = lastHost.get(request.sessionId);
      if (previous !== undefined) {
        continued++;
        if (previous === request.host) kept++;
      }
      lastHost.set(request.sessionId, request.host);
      started((hosts[request.host] as SimHost).end(request, now));
      const conversation = callsOf.get(request.id) as Conversation;
      callsOf.delete(request.id);
      if (conversation.done) {
        activeSessions--;
        live--;
      } else events.push(now + conversation.nextDelayMs, { kind: 'call', conversation });
      drainGateway(now);
    }
  }
  if (gatewayQueue.length > 0)
    throw new Error(`${router.name}: ${gatewayQueue.length} requests never placed`);

  const span = lastEnd - firstArrival;
  for (const host of hosts) host.account(lastEnd);
  const averages = hosts.map((host) => host.assignedArea / span);
  const mean = averages.reduce((a, b) => a + b, 0) / averages.length;
  const ttfts = finished.map((r) => r.firstTokenMs - r.arrivalMs).sort((a, b) => a - b);
  const waits = finished.map((r) => r.startMs - r.arrivalMs).sort((a, b) => a - b);
  const promptTokens = finished.reduce((sum, r) => sum + r.prompt.length, 0);
  const evaluatedTokens = finished.reduce((sum, r) => sum + r.evaluatedTokens, 0);
  const busy = finished.reduce((sum, r) => sum + (r.endMs - r.startMs), 0);
  return {
    router: router.name,
    workload: workload.name,
    hosts: hostCount,
    requests: finished.length,
    promptTokens,
    evaluatedTokens,
    hitRate: 1 - evaluatedTokens / promptTokens,
    coldLoads: hosts.reduce((sum, host) => sum + host.coldLoads, 0),
    ttftP50Ms: percentile(ttfts, 0.5),
    ttftP95Ms: percentile(ttfts, 0.95),
    waitP95Ms: percentile(waits, 0.95),
    maxWaitMs: waits[waits.length - 1] ?? 0,
    failures: waits.filter((w) => w > QUEUE_TIMEOUT_MS).length,
    inFlightMaxOverMean: Math.max(...averages) / mean,
    peakInFlight: Math.max(...hosts.map((host) => host.peakAssigned)),
    utilisation: busy / (span * hostCount * MAX_STREAMS),
    stickiness: continued === 0 ? 1 : kept / continued,
    queuedAtGateway,
    ...(predicted > 0 ? { mispredicted, meanPredictedShare: predictedSum / predicted } : {}),
    meanActualShare: finished.reduce((sum, r) => sum + r.cachedTokens / r.prompt.length, 0) / finished.length,
    durationS: span / 1000,
    floorTokens,
    liveSessionsPerSlot: liveArea / span / (hostCount * SLOTS_PER_MODEL),
    evictions: hosts.reduce((sum, host) => sum + host.evictions, 0),
    hotEvictions: hosts.reduce((sum, host) => sum + host.hotEvictions, 0),
    diagnostics: router.diagnostics?.() ?? {},
  };
}
