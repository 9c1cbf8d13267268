// The soak: concurrent streams of every scenario through a pool of three simulators, one host restarted on a
// schedule, every outcome judged, and the gateway's memory, descriptors and output watched throughout.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { until } from '../test/support/pool-fixture.js';
import { type AttemptEnd, judge } from './check-outcome.js';
import { clientAgent, runClient, type Seen } from './client.js';
import { type GatewayProcess, startGatewayProcess } from './gateway-process.js';
import { planStream, random, type Scenario, type StreamPlan } from './plan.js';
import { openFds, ProcWatch, rssSlopeMiBPerMinute, type Sample } from './proc-watch.js';
import { SimPool } from './sim-pool.js';
import { type Figures, verdict } from './verdict.js';

export interface SoakOptions {
  seconds: number;
  /** Streams in flight at once. */
  concurrency: number;
  /** One host is closed and reopened this often (round robin). */
  restartEveryMs: number;
  /** How long a restarted host stays down: connections to it are refused meanwhile. */
  restartDownMs: number;
  seed: number;
  /** RSS samples before this are left out of the slope. */
  warmupSeconds: number;
  rssSlopeLimitMiBPerMinute: number;
  tokenDelayMs: number;
  progress?: (line: string) => void;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'progress'>;
  figures: Figures;
  violations: string[];
  /** The first outcome violations, worded per stream. */
  outcomeExamples: string[];
  /** Streams with a violation, by when they started (10-s buckets). */
  violationsByStart: Record<string, number>;
  scenarios: Record<string, number>;
  outcomes: Record<string, number>;
  restarts: number;
  streamsPerSecond: number;
  rss: { startMiB: number; endMiB: number; peakMiB: number; samples: Sample[] };
  upstreamErrors: Record<string, number>;
  gatewayLog: Record<string, number>;
  alarms: string[];
  durationSeconds: number;
}

/**
 * Short timeouts, so that every fault resolves within seconds, with room for a loaded machine: the clients and
 * the simulators share one process, and a first-token clock also runs through a retry.
 */
const GATEWAY_ENV = {
  CHATWIRE_ALLOWED_MODELS: '*',
  CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: '10000',
  CHATWIRE_IDLE_TIMEOUT_MS: '5000',
  CHATWIRE_HEALTH_INTERVAL_MS: '500',
  CHATWIRE_EJECT_MS: '1000',
  // A fifth of the streams fail on purpose; with the default 3, two hosts would often be ejected at once and a
  // failed first attempt would have nowhere to be retried. Restarts still eject the host that went down.
  CHATWIRE_EJECT_AFTER: '10',
  // Ended generations are kept for resumes this long; the default 5 minutes would make memory climb for the
  // first 5 minutes of any run and hide a real slope behind it. 30 s still covers a resume on a loaded machine.
  CHATWIRE_GENERATION_TTL_MS: '30000',
  // A detached reply may run this long without its client. 30 s was shorter than a 20-token reply 1 s apart
  // whose host was slowed by a restart and a loaded machine: the 10-minute run's only two violations were
  // such replies, stopped by this bound as designed.
  CHATWIRE_DETACH_MS: '120000',
};

const RAMP_UP_MS = 5000;

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const say = options.progress ?? (() => {});
  const rand = random(options.seed);
  const shape = {
    tokenDelayMs: options.tokenDelayMs,
    minTokens: 6,
    maxTokens: 20,
    neverReadingBytes: 16 << 20,
  };

  const hosts = await SimPool.start();
  const file = join(mkdtempSync(join(tmpdir(), 'chatwire-soak-')), 'chatwire.json');
  // Each host can take every stream, so a restarted or ejected host never leaves requests queueing.
  const upstreams = hosts.urls.map((url) => ({ url, maxStreams: options.concurrency }));
  writeFileSync(file, JSON.stringify({ upstreams }));

  let gateway: GatewayProcess | undefined;
  const watchers: Array<{ stop(): void }> = [];
  const agent = clientAgent();
  try {
    gateway = await startGatewayProcess({ ...GATEWAY_ENV, CHATWIRE_CONFIG_FILE: file });
    const gw = gateway;
    await until(
      'every host is healthy',
      async () => {
        const hosts = (await (await fetch(`${gw.url}/v1/upstreams`)).json()) as Array<{ state: string }>;
        return hosts.length === 3 && hosts.every((host) => host.state === 'healthy');
      },
      20_000,
    );
    const fdBaseline = await baselineFds(gw.pid);
    say(
      `chatwire pid ${gw.pid} at ${gw.url}; ${fdBaseline} fds at rest; ${options.concurrency} streams for ${options.seconds} s`,
    );

    const startedAt = performance.now();
    const endAt = startedAt + options.seconds * 1000;
    const watch = new ProcWatch(gw.pid, startedAt);
    watch.start(options.seconds >= 120 ? 1000 : 250);
    watchers.push(watch);

    const restarts: Array<{ host: string; closedAt: number; reopenedAt: number }> = [];
    // When some host was out of rotation (ejected or probing): a failed first attempt may then have had no
    // other host to be retried on, and the pool answers with its error, as README says.
    const degradedAt: number[] = [];
    const health = setInterval(async () => {
      try {
        const list = (await (await fetch(`${gw.url}/v1/upstreams`)).json()) as Array<{ state: string }>;
        if (list.some((host) => host.state !== 'healthy')) degradedAt.push(performance.now());
      } catch {}
    }, 250);
    watchers.push({ stop: () => clearInterval(health) });
    let restartCount = 0;
    let restarting: Promise<void> = Promise.resolve();
    const restartTimer = setInterval(() => {
      const index = restartCount++ % hosts.urls.length;
      const entry = {
        host: hosts.hostName(index),
        closedAt: performance.now(),
        reopenedAt: Number.POSITIVE_INFINITY,
      };
      restarts.push(entry);
      restarting = (async () => {
        await await hosts.restart(index, options.restartDownMs);
        entry.reopenedAt = performance.now();
      })();
    }, options.restartEveryMs);
    watchers.push({ stop: () => clearInterval(restartTimer) });

    const scenarios: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    const examples: string[] = [];
    const violationsByStart: Record<string, number> = {};
    let violations = 0;
    let nextId = 1;
    const judging: Array<Promise<void>> = [];

    const judgeLater = async (plan: StreamPlan, seen: Seen) => {
      const started = () => hosts.started.get(plan.id) ?? 0;
      const ends = () => hosts.ends.get(plan.id) ?? [];
      // The hosts report over IPC, and the upstream side of a stream may end a moment after the client's (an
      // abort travels back first). A stream that never reached a host waits the whole time, which is rare.
      const settled = () => started() >= 1 && ends().length >= started();
      await until('the upstream is done with the stream', settled, 15_000).catch(() => {});
      const used = new Set([...ends().map((end) => end.host), seen.upstream ?? '']);
      const restarted = restarts.some(
        (r) => used.has(r.host) && r.closedAt <= seen.endedAt && r.reopenedAt >= seen.startedAt,
      );
      const degraded = degradedAt.some((t) => t >= seen.startedAt - 1000 && t <= seen.endedAt + 1000);
      const judged = judge(plan, seen, ends(), restarted, degraded);
      if (ends().length < started()) {
        judged.violations.push(
          `stream ${plan.id}: an upstream request was still open 15 s after its client finished`,
        );
      }
      const track = { started: started(), ends: ends() };
      outcomes[judged.outcome] = (outcomes[judged.outcome] ?? 0) + 1;
      if (judged.violations.length > 0) {
        violations++;
        const bucket = `${Math.floor((seen.startedAt - startedAt) / 10_000) * 10} s`;
        violationsByStart[bucket] = (violationsByStart[bucket] ?? 0) + 1;
      }
      const at = ((seen.startedAt - startedAt) / 1000).toFixed(1);
      for (const v of judged.violations)
        if (examples.length < 30) examples.push(`at ${at} s: ${v} ${attemptsText(track, seen)}`);
      hosts.forget(plan.id);
    };

    const clientOptions = { url: gw.url, agent, giveUpMs: 1500, slowReadPauseMs: 5 };
    const worker = async (index: number) => {
      // Ramp up over a few seconds rather than opening every connection in the same tick of a cold process.
      await new Promise((resolve) => setTimeout(resolve, (index * RAMP_UP_MS) / options.concurrency));
      while (performance.now() < endAt) {
        const plan = planStream(nextId++, rand, shape);
        scenarios[plan.scenario] = (scenarios[plan.scenario] ?? 0) + 1;
        const seen = await runClient(clientOptions, plan);
        judging.push(judgeLater(plan, seen));
      }
    };
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    watchers.push({ stop: () => lag.disable() });
    const progress = setInterval(
      () => {
        const last = watch.samples[watch.samples.length - 1];
        const harnessLag = `event-loop delay max: clients ${(lag.max / 1e6).toFixed(0)} ms, hosts ${hosts.lagMs.toFixed(0)} ms`;
        lag.reset();
        hosts.lagMs = 0;
        say(
          `${Math.round((performance.now() - startedAt) / 1000)} s: ${nextId - 1} streams, ${violations} violations, ` +
            `rss ${last?.rssMiB.toFixed(0)} MiB, ${last?.fds} fds, ${restarts.length} restarts; ${harnessLag}`,
        );
      },
      options.seconds >= 120 ? 30_000 : 10_000,
    );
    watchers.push({ stop: () => clearInterval(progress) });

    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
    const loadEndedAt = (performance.now() - startedAt) / 1000;
    clearInterval(restartTimer);
    await restarting;
    await Promise.all(judging);
    agent.destroy();

    // What must return: no stream left open anywhere, and the descriptors back to where they were at rest
    // (the gateway's keep-alive connections to the hosts close within their idle timeouts).
    let leftOpen = 0;
    await until(
      'no stream is open',
      async () => {
        const hostList = (await (await fetch(`${gw.url}/v1/upstreams`)).json()) as Array<{
          inFlight: number;
        }>;
        leftOpen = hostList.reduce((sum, host) => sum + host.inFlight, 0);
        return leftOpen === 0;
      },
      15_000,
    ).catch(() => {});
    let fdAfter = openFds(gw.pid) ?? Number.POSITIVE_INFINITY;
    await until(
      'the fds are back at their baseline',
      () => {
        fdAfter = Math.min(fdAfter, openFds(gw.pid) ?? Number.POSITIVE_INFINITY);
        return fdAfter <= fdBaseline;
      },
      30_000,
    ).catch(() => {});
    const upstreamErrors = await upstreamErrorCounts(gw.url);
    watch.stop();

    const loadSamples = watch.samples.filter((s) => s.t <= loadEndedAt);
    const figures: Figures = {
      streams: nextId - 1,
      outcomeViolations: violations,
      rssSlopeMiBPerMinute: rssSlopeMiBPerMinute(loadSamples, options.warmupSeconds),
      rssSlopeLimitMiBPerMinute: options.rssSlopeLimitMiBPerMinute,
      fdBaseline,
      fdAfter,
      alarms: gw.alarmCount(),
      leftOpen,
      exited: gw.exited !== undefined,
    };
    await gw.stop();
    figures.alarms = gw.alarmCount();
    const rssValues = loadSamples.map((s) => s.rssMiB);
    const { progress: _progress, ...kept } = options;
    return {
      options: kept,
      figures,
      violations: verdict(figures),
      outcomeExamples: examples,
      violationsByStart,
      scenarios,
      outcomes,
      restarts: restarts.length,
      streamsPerSecond: (nextId - 1) / loadEndedAt,
      rss: {
        startMiB: loadSamples.find((s) => s.t >= options.warmupSeconds)?.rssMiB ?? 0,
        endMiB: rssValues[rssValues.length - 1] ?? 0,
        peakMiB: Math.max(...rssValues),
        samples: watch.samples,
      },
      upstreamErrors,
      gatewayLog: Object.fromEntries([...gw.logCounts].sort((a, b) => b[1] - a[1])),
      alarms: gw.alarms,
      durationSeconds: loadEndedAt,
    };
  } finally {
    for (const w of watchers) w.stop();
    agent.destroy();
    await gateway?.stop();
    await hosts.stop();
  }
}

function attemptsText(track: { started: number; ends: AttemptEnd[] }, seen: Seen): string {
  const ends = track.ends.map((e) => `${e.host.split(':')[1]}${e.aborted ? ' aborted' : ''}`).join(', ');
  return `[${track.started} attempts seen upstream: ${ends}; answered by ${seen.upstream ?? '?'} in ${Math.round(seen.endedAt - seen.startedAt)} ms]`;
}

/** The most descriptors seen over a second at rest (health probes open and close connections meanwhile). */
async function baselineFds(pid: number): Promise<number> {
  let most = 0;
  for (let i = 0; i < 5; i++) {
    most = Math.max(most, openFds(pid) ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return most;
}

async function upstreamErrorCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('chatwire_upstream_errors_total{')) continue;
    const [labels, value] = [line.slice(line.indexOf('{'), line.lastIndexOf('}') + 1), line.split(' ').pop()];
    counts[labels] = Number(value);
  }
  return counts;
}

export type { Scenario };
