// Turns measurements into the printed table (with PASS/FAIL against the targets) and the JSON record.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoadResult } from './load.js';
import type { FloorKind } from './processes.js';
import type { AbortScenario, LoadTargets } from './scenarios.js';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface TargetFigures {
  requests: number;
  errors: number;
  errorSamples: string[];
  ttftMs: Percentiles;
  tokens: number;
  tokensPerSecond: number;
  durationMs: number;
  /** The upstream's own cost per token: what one write per token costs on this machine, for scale. */
  upstreamCpuMicrosPerToken?: number;
  /** The harness's cost per token: with the upstream it shares CPU 0, which caps direct throughput. */
  loadGeneratorCpuMicrosPerToken?: number;
  /** Share of the machine's CPU that other processes used during the measured run. */
  otherCpuShare?: number;
  /**
   * Connections the upstream accepted during the measured run: 0 when the pool's warm connections carried
   * it (the harness's two /_stats requests around the run may add one each).
   */
  upstreamConnects?: number;
}

/** Figures of a process between client and upstream: chatwire or a floor relay. */
export interface RelayFigures extends TargetFigures {
  cpuMs?: number;
  cpuMicrosPerToken?: number;
  /** VmHWM over the measured run (reset after warm-up). */
  peakRssMiB?: number;
  /** VmHWM before the reset: the peak of startup and warm-up. */
  startupPeakRssMiB?: number;
}

export interface LoadScenarioResult {
  kind: 'load';
  id: string;
  title: string;
  settings: { requests: number; concurrency: number; tokens: number; delayMs: number; warmup: number };
  targets: LoadTargets;
  direct: TargetFigures;
  /** The floor relays' figures (absent with --no-floors, and in scenarios that repeat another's floors). */
  floors: Partial<Record<FloorKind, RelayFigures>>;
  chatwire: RelayFigures;
  notes: string[];
}

export interface AbortFigures {
  samples: number;
  /** Aborts the upstream never saw (or the client could not make): each one is a failure. */
  missed: number;
  errorSamples: string[];
  latencyMs: Percentiles;
}

export interface AbortScenarioResult {
  kind: 'abort';
  id: string;
  title: string;
  settings: { samples: number; warmup: number; tokens: number; delayMs: number };
  targets: AbortScenario['targets'];
  direct: AbortFigures;
  floors: Partial<Record<FloorKind, AbortFigures>>;
  chatwire: AbortFigures;
  notes: string[];
}

export type ScenarioResult = LoadScenarioResult | AbortScenarioResult;

export interface Check {
  scenario: string;
  label: string;
  measured: number | undefined;
  limit: string;
  pass: boolean;
}

export interface Meta {
  startedAt: string;
  quick: boolean;
  node: string;
  cpus: string;
  pinned: boolean;
  commit: string;
  chatwireEnv: Record<string, string>;
  notes: string[];
}

export function percentiles(sorted: number[]): Percentiles {
  return { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99) };
}

/** Nearest-rank quantile of an ascending list; NaN when empty, so a missing figure can never PASS. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

export function targetFigures(result: LoadResult): TargetFigures {
  return {
    requests: result.requests,
    errors: result.errors,
    errorSamples: result.errorSamples,
    ttftMs: percentiles(result.ttftMs),
    tokens: result.tokens,
    tokensPerSecond: result.tokens / (result.durationMs / 1000),
    durationMs: result.durationMs,
  };
}

/**
 * Each scenario's targets against its figures. Overheads are differences of percentiles (chatwire p50 −
 * direct p50), not percentiles of paired differences: the two runs are separate. A figure that could not be
 * measured (undefined, NaN) fails.
 */
export function checks(results: ScenarioResult[]): Check[] {
  const out: Check[] = [];
  const add = (scenario: string, label: string, measured: number | undefined, limit: string, pass: boolean) =>
    out.push({
      scenario,
      label,
      measured,
      limit,
      pass: pass && measured !== undefined && !Number.isNaN(measured),
    });
  for (const result of results) {
    const { id } = result;
    if (result.kind === 'abort') {
      const { chatwire } = result;
      const { p99Ms } = result.targets;
      const p99 = chatwire.latencyMs.p99;
      add(id, 'abort → upstream abort p99 (ms)', p99, `≤ ${p99Ms} ms`, p99 <= p99Ms);
      add(id, 'missed aborts', chatwire.missed, '0', chatwire.missed === 0);
      continue;
    }
    const { direct, chatwire, targets } = result;
    const errors = direct.errors + chatwire.errors;
    add(id, 'errors (both targets)', errors, '0', errors === 0);
    if (targets.ttftOverheadP50Ms !== undefined) {
      const overhead = chatwire.ttftMs.p50 - direct.ttftMs.p50;
      const limit = targets.ttftOverheadP50Ms;
      add(id, 'TTFT overhead p50 (ms)', overhead, `≤ ${limit} ms`, overhead <= limit);
    }
    if (targets.throughputRatio !== undefined) {
      const ratio = chatwire.tokensPerSecond / direct.tokensPerSecond;
      const limit = targets.throughputRatio;
      add(id, 'throughput vs direct (×)', ratio, `≥ ${limit}×`, ratio >= limit);
    }
    if (targets.cpuMicrosPerToken !== undefined) {
      const cpu = chatwire.cpuMicrosPerToken;
      const limit = targets.cpuMicrosPerToken;
      add(id, 'chatwire CPU (µs/token)', cpu, `≤ ${limit} µs`, cpu !== undefined && cpu <= limit);
    }
    if (targets.cpuVersus !== undefined) {
      const { of, ratio } = targets.cpuVersus;
      const base = results.find((other) => other.id === of);
      const baseCpu = base?.kind === 'load' ? base.chatwire.cpuMicrosPerToken : undefined;
      const cpu = chatwire.cpuMicrosPerToken;
      const measured = cpu === undefined || baseCpu === undefined ? undefined : cpu / baseCpu;
      add(id, cpuVersusLabel(of), measured, `≤ ${ratio}×`, measured !== undefined && measured <= ratio);
    }
    if (targets.peakRssMiB !== undefined) {
      const rss = chatwire.peakRssMiB;
      const limit = targets.peakRssMiB;
      add(id, 'chatwire peak RSS (MiB)', rss, `≤ ${limit} MiB`, rss !== undefined && rss <= limit);
    }
  }
  return out;
}

export function printReport(meta: Meta, results: ScenarioResult[], verdicts: Check[]): void {
  const pinning = meta.pinned ? 'upstream + load generator on CPU 0, chatwire on CPU 1' : 'not pinned';
  const lines = [
    '',
    `chatwire bench${meta.quick ? ' (quick)' : ''} · node ${meta.node} · ${meta.cpus} · ${pinning}`,
  ];
  for (const note of meta.notes) lines.push(`note: ${note}`);
  for (const result of results) {
    const judged = (label: string): [string, string] => {
      const check = verdicts.find((entry) => entry.scenario === result.id && entry.label === label);
      return check === undefined ? ['', ''] : [check.limit, check.pass ? 'PASS' : 'FAIL'];
    };
    lines.push('', `(${result.id}) ${result.title}`, header());
    lines.push(
      ...(result.kind === 'load'
        ? loadRows(result, judged, cpuVersus(result, verdicts))
        : abortRows(result, judged)),
    );
    type Sampled = { errorSamples: string[] };
    const samples = columns<Sampled, Sampled>(result).flatMap((figures, index) =>
      (figures?.errorSamples ?? []).map((sample) => `${HEADER[index]}: ${sample}`),
    );
    for (const sample of samples) lines.push(`    ! ${sample}`);
    for (const note of result.notes) lines.push(`    note: ${note}`);
  }
  const passed = verdicts.filter((check) => check.pass).length;
  lines.push('', `targets: ${passed}/${verdicts.length} PASS`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

type Judge = (label: string) => [string, string];

function loadRows(
  { direct, floors, chatwire }: LoadScenarioResult,
  judged: Judge,
  versus: { check: Check; of: string } | undefined,
): string[] {
  const [, ...relays] = columns({ direct, floors, chatwire });
  const cells = (value: (figures: RelayFigures) => string) =>
    relays.map((figures) => (figures === undefined ? '' : value(figures)));
  const rows: string[] = [];
  for (const p of ['p50', 'p90', 'p99'] as const) {
    const overhead = (figures: TargetFigures | undefined) =>
      figures === undefined ? '' : `${signed(chatwire.ttftMs[p] - figures.ttftMs[p])} ms`;
    const target = p === 'p50' ? judged('TTFT overhead p50 (ms)') : [];
    const values = [ms(direct.ttftMs[p]), ...cells((figures) => ms(figures.ttftMs[p]))];
    rows.push(row(`TTFT ${p} (ms)`, values, overhead(direct), overhead(floors.http), ...target));
  }
  const ratio = (figures: TargetFigures | undefined) =>
    figures === undefined ? '' : `${(chatwire.tokensPerSecond / figures.tokensPerSecond).toFixed(2)}×`;
  const throughput = [int(direct.tokensPerSecond), ...cells((figures) => int(figures.tokensPerSecond))];
  rows.push(
    row('tokens/s', throughput, ratio(direct), ratio(floors.http), ...judged('throughput vs direct (×)')),
  );
  const errors = [`${direct.errors}`, ...cells((figures) => `${figures.errors}`)];
  rows.push(row('errors', errors, '', '', ...judged('errors (both targets)')));
  const cpu = ['', ...cells((figures) => fixed(figures.cpuMicrosPerToken, 2))];
  const cpuRatio =
    floors.http === undefined ? '' : times(chatwire.cpuMicrosPerToken, floors.http.cpuMicrosPerToken);
  rows.push(row('relay CPU (µs/token)', cpu, '', cpuRatio, ...judged('chatwire CPU (µs/token)')));
  if (versus !== undefined) {
    const { check, of } = versus;
    const verdict = check.pass ? 'PASS' : 'FAIL';
    rows.push(
      row(
        `chatwire CPU vs (${of})`,
        ['', '', '', `${fixed(check.measured, 2)}×`],
        '',
        '',
        check.limit,
        verdict,
      ),
    );
  }
  const upstreamCpu = [
    fixed(direct.upstreamCpuMicrosPerToken, 2),
    ...cells((figures) => fixed(figures.upstreamCpuMicrosPerToken, 2)),
  ];
  rows.push(row('upstream CPU (µs/token)', upstreamCpu, '(for scale)', ''));
  const connects = [
    `${direct.upstreamConnects ?? 'n/a'}`,
    ...cells((figures) => `${figures.upstreamConnects ?? 'n/a'}`),
  ];
  rows.push(row('upstream connects', connects, '(pool churn)', ''));
  const rss = ['', ...cells((figures) => fixed(figures.peakRssMiB, 1))];
  const rssRatio = floors.http === undefined ? '' : times(chatwire.peakRssMiB, floors.http.peakRssMiB);
  rows.push(row('relay peak RSS (MiB)', rss, '', rssRatio, ...judged('chatwire peak RSS (MiB)')));
  const startup = ['', ...cells((figures) => fixed(figures.startupPeakRssMiB, 1))];
  rows.push(row('relay startup RSS (MiB)', startup, '', ''));
  return rows;
}

function cpuVersusLabel(of: string): string {
  return `CPU vs (${of}) (×)`;
}

/** The check of a scenario's CPU against another's, with the other's id. */
function cpuVersus(result: ScenarioResult, verdicts: Check[]): { check: Check; of: string } | undefined {
  if (result.kind !== 'load' || result.targets.cpuVersus === undefined) return undefined;
  const { of } = result.targets.cpuVersus;
  const check = verdicts.find((entry) => entry.scenario === result.id && entry.label === cpuVersusLabel(of));
  return check === undefined ? undefined : { check, of };
}

function abortRows({ direct, floors, chatwire }: AbortScenarioResult, judged: Judge): string[] {
  const rows: string[] = [];
  const all = columns({ direct, floors, chatwire });
  for (const p of ['p50', 'p99'] as const) {
    const overhead = (figures: AbortFigures | undefined) =>
      figures === undefined ? '' : `${signed(chatwire.latencyMs[p] - figures.latencyMs[p])} ms`;
    const target = p === 'p99' ? judged('abort → upstream abort p99 (ms)') : [];
    const values = all.map((figures) => (figures === undefined ? '' : ms(figures.latencyMs[p])));
    rows.push(row(`abort → upstream ${p} (ms)`, values, overhead(direct), overhead(floors.http), ...target));
  }
  const missed = all.map((figures) => (figures === undefined ? '' : `${figures.missed}`));
  rows.push(row('missed aborts', missed, '', '', ...judged('missed aborts')));
  return rows;
}

export function writeJson(path: string, meta: Meta, results: ScenarioResult[], verdicts: Check[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ meta, results, checks: verdicts }, null, 2)}\n`);
}

/** The table's columns, in the order of `columns`. */
const HEADER = ['direct', 'tcp floor', 'http floor', 'chatwire'];

/** A scenario's figures per column (undefined: that floor was not measured). */
function columns<D, R>(result: {
  direct: D;
  floors: Partial<Record<FloorKind, R>>;
  chatwire: R;
}): [D, R | undefined, R | undefined, R] {
  return [result.direct, result.floors.tcp, result.floors.http, result.chatwire];
}

function header(): string {
  return row('', HEADER, 'chatwire vs direct', 'vs http floor', 'target');
}

/** `values`: direct, tcp floor, http floor, chatwire. */
function row(
  label: string,
  values: string[],
  versus: string,
  versusFloor: string,
  target = '',
  result = '',
): string {
  const cells = values.map((value) => value.padStart(11)).join('');
  return `  ${label.padEnd(24)}${cells}   ${versus.padEnd(19)}${versusFloor.padEnd(14)}${target.padEnd(12)}${result}`.trimEnd();
}

/** a/b as "1.23×"; empty when either is missing. */
function times(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '' : `${(a / b).toFixed(2)}×`;
}

function ms(value: number): string {
  return Number.isNaN(value) ? 'n/a' : value.toFixed(3);
}

function signed(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  return `${value >= 0 ? '+' : ''}${value.toFixed(3)}`;
}

function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
}
