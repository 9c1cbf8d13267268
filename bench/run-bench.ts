// `npm run bench [-- --quick] [--only a,c] [--no-pin] [--no-floors] [--no-wait]`: each scenario against the fast upstream
// directly, through the two floor relays and through chatwire, in one run; then a table of chatwire's cost
// against the targets, and a JSON record in bench/results/. bench/README.md explains the figures.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { loadConfig } from '../src/config/config.js';
import { type AbortSample, type Expected, LoadGenerator, type Target } from './load.js';
import {
  cpuResolutionMicros,
  cpuSnapshot,
  cpuUse,
  openFilesLimit,
  peakRssBytes,
  procAvailable,
  quietMachine,
  resetPeakRss,
  settled,
} from './proc-stats.js';
import {
  type Child,
  canPin,
  FLOOR_KINDS,
  type FloorKind,
  pinSelf,
  startChatwire,
  startFloor,
  startUpstream,
} from './processes.js';
import { topSelfTime } from './profile-summary.js';
import {
  type AbortFigures,
  type AbortScenarioResult,
  checks,
  type LoadScenarioResult,
  type Meta,
  percentiles,
  printReport,
  type RelayFigures,
  type ScenarioResult,
  targetFigures,
  writeJson,
} from './report.js';
import {
  type AbortScenario,
  chatwireEnvFor,
  chatwireTarget,
  directTarget,
  floorTarget,
  type LoadScenario,
  MODEL,
  plan,
  type Scenario,
} from './scenarios.js';

/**
 * Where each process runs (undefined: not pinned), whether the floor relays are measured, and whether chatwire
 * runs under the V8 profiler. The floor relays run where chatwire does.
 */
interface Setup {
  upstreamCpu: number | undefined;
  chatwireCpu: number | undefined;
  floors: boolean;
  profileDir: string | undefined;
}

/** A chatwire CPU profile, and the measured run's time window in it (CLOCK_MONOTONIC µs, as V8 records). */
interface ProfileRecord {
  scenario: string;
  path: string;
  windowMicros: [number, number];
}

const ABORT_GAP_MS = 20;
const ABORT_REPORT_TIMEOUT_MS = 3_000;
const OTHER_LOAD_WARNING = 0.1;
// `--no-wait`: for comparing variants on a machine that will not get quiet (CPU per token holds up; latency
// does not): no wait for quiet, one attempt.
const NO_WAIT = process.argv.includes('--no-wait');
const QUIET_WAIT_MS = NO_WAIT ? 0 : 60_000;
const MEASURE_ATTEMPTS = NO_WAIT ? 1 : 3;
const WARMUP_ROUNDS = 5;
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  // Paths (dist/, bench/) are the package's, wherever the command was started.
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyIndex = args.indexOf('--only');
  const only = onlyIndex === -1 ? undefined : (args[onlyIndex + 1] ?? '').split(',');
  const scenarios = plan(quick).filter((scenario) => only === undefined || only.includes(scenario.id));
  if (scenarios.length === 0) {
    const ids = plan(quick).map((scenario) => scenario.id);
    throw new Error(`--only ${only?.join(',')}: no such scenario (${ids.join(', ')})`);
  }
  if (!existsSync('dist/cli/main.js'))
    throw new Error('dist/cli/main.js is missing: run `npm run build` first');

  const pinned = canPin && !args.includes('--no-pin');
  // Upstream and load generator share CPU 0 so that chatwire has CPU 1 to itself.
  if (pinned) pinSelf(0);
  const startedAt = new Date().toISOString();
  const stamp = `${startedAt.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}`;
  const setup: Setup = {
    upstreamCpu: pinned ? 0 : undefined,
    chatwireCpu: pinned ? 1 : undefined,
    floors: !args.includes('--no-floors'),
    profileDir: args.includes('--cpu-prof') ? `bench/results/${stamp}-profiles` : undefined,
  };
  const meta: Meta = {
    startedAt,
    quick,
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    pinned,
    commit: gitCommit(),
    chatwireEnv: chatwireEnvOverrides(),
    notes: preflight(scenarios, pinned, setup.profileDir !== undefined),
  };

  const upstream = await startUpstream(setup.upstreamCpu);
  const results: ScenarioResult[] = [];
  const profiles: ProfileRecord[] = [];
  try {
    for (const scenario of scenarios) {
      process.stderr.write(`bench: (${scenario.id}) ${scenario.title}\n`);
      results.push(
        scenario.kind === 'load'
          ? await runLoad(scenario, upstream, setup, profiles)
          : await runAborts(scenario, upstream, setup),
      );
    }
  } finally {
    await upstream.stop();
  }

  const verdicts = checks(results);
  printReport(meta, results, verdicts);
  for (const profile of profiles) printProfile(profile);
  const path = `bench/results/${stamp}.json`;
  writeJson(path, meta, results, verdicts);
  process.stdout.write(`results: ${path}\n`);
}

async function runLoad(
  scenario: LoadScenario,
  upstream: Child,
  setup: Setup,
  profiles: ProfileRecord[],
): Promise<LoadScenarioResult> {
  const expected = await configureUpstream(upstream, scenario.tokens, scenario.delayMs);
  const direct = await measure(directTarget(upstream, scenario.tokens), scenario, expected, upstream);
  const notes = [...direct.notes];

  const floors: Partial<Record<FloorKind, RelayFigures>> = {};
  for (const kind of setup.floors && scenario.floors ? FLOOR_KINDS : []) {
    const floor = await startFloor(kind, upstream, setup.chatwireCpu);
    try {
      const target = floorTarget(kind, floor, scenario.tokens);
      const measured = await measureRelay(floor, target, scenario, expected, upstream);
      floors[kind] = measured.figures;
      notes.push(...measured.notes);
    } finally {
      await floor.stop();
    }
  }

  const chatwireEnv = chatwireEnvFor(upstream, scenario.tokens);
  const connections = loadConfig({ ...process.env, ...chatwireEnv }).upstreamConnections;
  if (connections < scenario.concurrency) {
    notes.push(
      `chatwire's upstream pool has ${connections} connections (CHATWIRE_UPSTREAM_CONNECTIONS) for ` +
        `${scenario.concurrency} concurrent streams: the others wait in its pool, and TTFT includes the wait`,
    );
  }
  const profileName = `${scenario.id}.cpuprofile`;
  const nodeArgs =
    setup.profileDir === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${setup.profileDir}`, `--cpu-prof-name=${profileName}`];
  // A fresh process per scenario: nothing an earlier scenario left behind (heap, sockets) counts here.
  const chatwire = await startChatwire(chatwireEnv, setup.chatwireCpu, nodeArgs);
  let windowMicros: [number, number] | undefined;
  try {
    const target = chatwireTarget(chatwire, scenario.route);
    const measured = await measureRelay(chatwire, target, scenario, expected, upstream);
    windowMicros = measured.windowMicros;
    notes.push(...measured.notes);
    return {
      kind: 'load',
      id: scenario.id,
      title: scenario.title,
      settings: {
        requests: scenario.requests,
        concurrency: scenario.concurrency,
        tokens: scenario.tokens,
        delayMs: scenario.delayMs,
        warmup: scenario.warmup,
      },
      targets: scenario.targets,
      direct: direct.figures,
      floors,
      chatwire: measured.figures,
      notes,
    };
  } catch (error) {
    process.stderr.write(`chatwire's last output:\n${chatwire.recentOutput.join('\n')}\n`);
    throw error;
  } finally {
    // The profile is written as chatwire exits.
    await chatwire.stop();
    if (setup.profileDir !== undefined && windowMicros !== undefined) {
      profiles.push({ scenario: scenario.id, path: `${setup.profileDir}/${profileName}`, windowMicros });
    }
  }
}

/** A relay process (chatwire or a floor), measured with its CPU and its measured run's peak RSS. */
async function measureRelay(
  relay: Child,
  target: Target,
  scenario: LoadScenario,
  expected: Expected,
  upstream: Child,
): Promise<Measured> {
  await settled(relay.pid);
  const startupPeak = peakRssBytes(relay.pid);
  const measured = await measure(target, scenario, expected, upstream, relay);
  const peak = peakRssBytes(relay.pid);
  return {
    ...measured,
    figures: {
      ...measured.figures,
      ...(peak !== undefined && { peakRssMiB: peak / MiB }),
      ...(startupPeak !== undefined && { startupPeakRssMiB: startupPeak / MiB }),
    },
  };
}

interface Measured {
  figures: RelayFigures;
  notes: string[];
  windowMicros: [number, number];
}

/**
 * Measures one target, again (up to MEASURE_ATTEMPTS times) while other processes disturbed the measured run:
 * on a shared machine a test run next door would otherwise be recorded as chatwire's cost.
 */
async function measure(
  target: Target,
  scenario: LoadScenario,
  expected: Expected,
  upstream: Child,
  relay?: Child,
): Promise<Measured> {
  const pids: Record<string, number> = { harness: process.pid, upstream: upstream.pid };
  if (relay !== undefined) pids.relay = relay.pid;
  const retries: string[] = [];
  for (let attempt = 1; ; attempt++) {
    // Before the warm-up, not after it: a long wait would let the warmed keep-alive connections time out.
    const quiet = await quietMachine(pids, QUIET_WAIT_MS);
    const measured = await measureOnce(target, scenario, expected, pids, upstream);
    const share = measured.figures.otherCpuShare ?? 0;
    if (share <= OTHER_LOAD_WARNING || attempt === MEASURE_ATTEMPTS) {
      if (!quiet) measured.notes.push(`${target.name}: the machine never got quiet; measured anyway`);
      if (share > OTHER_LOAD_WARNING) {
        measured.notes.push(
          `${target.name}: other processes used ${Math.round(share * 100)}% of the machine's CPU ` +
            'during the measured run, so its figures are disturbed',
        );
      }
      if (retries.length > 0)
        measured.notes.push(`${target.name}: measured again after ${retries.join(', ')}`);
      return measured;
    }
    retries.push(`${Math.round(share * 100)}% other load`);
  }
}

/** Warm-up, then the measured run, with /proc read around the measured run only. */
async function measureOnce(
  target: Target,
  scenario: LoadScenario,
  expected: Expected,
  pids: Record<string, number>,
  upstream: Child,
): Promise<Measured> {
  const notes: string[] = [];
  const generator = new LoadGenerator(target, scenario.concurrency);
  try {
    const connectionsBefore = await warmUp(generator, target, scenario, expected, upstream, notes);
    // Startup is chatwire's memory peak (module loading); the scenario's own peak is what the target is about.
    if (pids.relay !== undefined && !resetPeakRss(pids.relay)) {
      notes.push(`could not reset VmHWM: ${target.name} peak RSS includes its startup`);
    }
    const before = cpuSnapshot(pids);
    const startMicros = monotonicMicros();
    const result = await generator.run(scenario.requests, scenario.concurrency, expected);
    const windowMicros: [number, number] = [startMicros, monotonicMicros()];
    const use = cpuUse(before, cpuSnapshot(pids));
    const upstreamConnects = (await upstreamConnections(upstream)) - connectionsBefore;

    const perToken = (ms: number | undefined) =>
      ms === undefined ? undefined : (ms * 1000) / Math.max(1, result.tokens);
    const figures: RelayFigures = {
      ...targetFigures(result),
      upstreamCpuMicrosPerToken: perToken(use.processMs.upstream),
      loadGeneratorCpuMicrosPerToken: perToken(use.processMs.harness),
      otherCpuShare: use.otherShare,
      upstreamConnects,
    };
    const cpuMs = use.processMs.relay;
    if (cpuMs !== undefined) {
      figures.cpuMs = cpuMs;
      figures.cpuMicrosPerToken = perToken(cpuMs);
      if (cpuMs * 1000 < 20 * cpuResolutionMicros) {
        notes.push(
          `${target.name} used ${cpuMs} ms of CPU, near /proc's ${cpuResolutionMicros / 1000} ms resolution`,
        );
      }
    }
    return { figures, notes, windowMicros };
  } finally {
    await generator.close();
  }
}

/**
 * Runs the warm-up until the relay's upstream pool stops growing, at most WARMUP_ROUNDS times. One round is
 * not always enough: a cold relay starts a burst's streams more slowly than a fast upstream ends them, so
 * their upstream connections get reused and the measured run would open the rest (and time their connects).
 * Returns the upstream's connection count after the last round, where the measured run's count starts.
 */
async function warmUp(
  generator: LoadGenerator,
  target: Target,
  scenario: LoadScenario,
  expected: Expected,
  upstream: Child,
  notes: string[],
): Promise<number> {
  let connections = await upstreamConnections(upstream);
  for (let round = 1; round <= WARMUP_ROUNDS; round++) {
    const warm = await generator.run(scenario.warmup, scenario.concurrency, expected);
    if (warm.errors > 0)
      notes.push(`${target.name} warm-up: ${warm.errors} errors (${warm.errorSamples[0]})`);
    const now = await upstreamConnections(upstream);
    // The harness's own /_stats request may open one.
    const grew = now - connections > 1;
    connections = now;
    if (!grew) return connections;
  }
  notes.push(`${target.name}: its upstream pool still grew after ${WARMUP_ROUNDS} warm-up rounds`);
  return connections;
}

function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function printProfile(profile: ProfileRecord): void {
  const { busyMs, lines } = topSelfTime(profile.path, 15, profile.windowMicros);
  const out = [
    ``,
    `chatwire CPU profile, scenario (${profile.scenario}), measured run only: ${busyMs.toFixed(0)} ms busy`,
  ];
  for (const line of lines) {
    out.push(
      `  ${line.ms.toFixed(1).padStart(8)} ms ${(line.share * 100).toFixed(1).padStart(5)}%  ${line.name}`,
    );
  }
  out.push(`  (${profile.path})`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function runAborts(
  scenario: AbortScenario,
  upstream: Child,
  setup: Setup,
): Promise<AbortScenarioResult> {
  await configureUpstream(upstream, scenario.tokens, scenario.delayMs);
  const notes: string[] = [];
  const measureThrough = async (relay: Child | undefined, target: Target): Promise<AbortFigures> => {
    const pids: Record<string, number> = { harness: process.pid, upstream: upstream.pid };
    if (relay !== undefined) {
      await settled(relay.pid);
      pids.relay = relay.pid;
    }
    if (!(await quietMachine(pids, QUIET_WAIT_MS)))
      notes.push(`${target.name}: the machine was busy; measured anyway`);
    return abortLatencies(target, scenario, upstream);
  };
  const direct = await measureThrough(undefined, directTarget(upstream, scenario.tokens));
  const floors: Partial<Record<FloorKind, AbortFigures>> = {};
  for (const kind of setup.floors ? FLOOR_KINDS : []) {
    const floor = await startFloor(kind, upstream, setup.chatwireCpu);
    try {
      floors[kind] = await measureThrough(floor, floorTarget(kind, floor, scenario.tokens));
    } finally {
      await floor.stop();
    }
  }
  const chatwire = await startChatwire(chatwireEnvFor(upstream, scenario.tokens), setup.chatwireCpu);
  try {
    const figures = await measureThrough(chatwire, chatwireTarget(chatwire));
    return {
      kind: 'abort',
      id: scenario.id,
      title: scenario.title,
      settings: {
        samples: scenario.samples,
        warmup: scenario.warmup,
        tokens: scenario.tokens,
        delayMs: scenario.delayMs,
      },
      targets: scenario.targets,
      direct,
      floors,
      chatwire: figures,
      notes,
    };
  } finally {
    await chatwire.stop();
  }
}

/** Client abort time (harness) against upstream abort time (upstream process), matched by request tag. */
async function abortLatencies(
  target: Target,
  scenario: AbortScenario,
  upstream: Child,
): Promise<AbortFigures> {
  const generator = new LoadGenerator(target, 1);
  let run: { samples: AbortSample[]; errors: string[] };
  try {
    // Unmeasured: their tags differ, so the upstream's records of them are never matched.
    await generator.aborts(scenario.warmup, 0, 'warm-up');
    run = await generator.aborts(scenario.samples, ABORT_GAP_MS);
  } finally {
    await generator.close();
  }
  const seen = new Map<string, bigint>();
  const deadline = Date.now() + ABORT_REPORT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const stats = (await getJson(upstream, '/_stats')) as { aborts: Array<{ tag: string; atNs: string }> };
    for (const abort of stats.aborts) seen.set(abort.tag, BigInt(abort.atNs));
    if (run.samples.every((sample) => seen.has(sample.tag))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const latencies: number[] = [];
  const errors = [...run.errors];
  for (const sample of run.samples) {
    const at = seen.get(sample.tag);
    if (at === undefined) errors.push(`${sample.tag}: the upstream never saw the abort`);
    else latencies.push(Number(at - sample.abortedAtNs) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  return {
    samples: scenario.samples,
    missed: scenario.samples - latencies.length,
    errorSamples: errors.slice(0, 5),
    latencyMs: percentiles(latencies),
  };
}

/** Sets the upstream's reply shape (and clears its counters); returns what every reply must then be. */
async function configureUpstream(upstream: Child, tokens: number, delayMs: number): Promise<Expected> {
  const response = await request(`${upstream.origin}/_scenario`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tokens, delayMs }),
  });
  await response.body.dump();
  const { bytes } = (await getJson(upstream, `/_expected?model=${MODEL}`)) as { bytes: number };
  return { tokens, bytes };
}

/** Connections the upstream has accepted so far (the harness's own /_stats requests included). */
async function upstreamConnections(upstream: Child): Promise<number> {
  return ((await getJson(upstream, '/_stats')) as { connections: number }).connections;
}

async function getJson(child: Child, path: string): Promise<unknown> {
  const response = await request(`${child.origin}${path}`);
  return response.body.json();
}

function preflight(scenarios: Scenario[], pinned: boolean, profiling: boolean): string[] {
  const notes: string[] = [];
  if (profiling)
    notes.push('chatwire runs under --cpu-prof: its CPU and latency figures include the profiler');
  if (!pinned)
    notes.push('processes are not pinned (no taskset, a single CPU, or --no-pin): figures are noisier');
  if (!procAvailable) notes.push('no /proc: CPU and RSS figures are n/a');
  const streams = Math.max(...scenarios.map((s) => (s.kind === 'load' ? s.concurrency : 1)));
  // chatwire holds two sockets per stream (client side and upstream side), plus its own files.
  const needed = 2 * streams + 256;
  const limit = openFilesLimit();
  if (limit !== undefined && limit < needed) {
    notes.push(
      `ulimit -n is ${limit}; ${streams} streams need about ${needed} descriptors in chatwire. ` +
        'Raise it first (e.g. `ulimit -n 4096 && npm run bench`), or expect EMFILE errors',
    );
  }
  return notes;
}

function chatwireEnvOverrides(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith('CHATWIRE_') && entry[1] !== undefined,
    ),
  );
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    return dirty === '' ? commit : `${commit} + uncommitted src changes`;
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
});
