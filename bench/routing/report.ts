import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DecisionCost } from './decision-cost.js';
import type { SimResult } from './simulate.js';

export interface Meta {
  cpu: string;
  cores: number;
  node: string;
  seed: number;
  quick: boolean;
  constants: Record<string, number>;
}

export interface Target {
  workload: string;
  target: string;
  status: 'PASS' | 'FAIL' | 'n/a';
  detail: string;
}

const SECOND = 1000;
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const sec = (ms: number) => (ms / SECOND).toFixed(2);

export function table(results: readonly SimResult[]): string {
  const first = results[0] as SimResult;
  const random = results.find((r) => r.router === 'random');
  const utilisation = results.map((r) => r.utilisation);
  const lines = [
    `### ${first.workload}, N = ${first.hosts}`,
    '',
    `${count(first.requests)} requests, ${count(first.promptTokens)} prompt tokens; unavoidable (each call's new` +
      ` messages) ${count(first.floorTokens)} = ${pct(first.floorTokens / first.promptTokens)};` +
      ` live sessions per slot ${first.liveSessionsPerSlot.toFixed(2)} (in ${first.router}'s run); streams busy` +
      ` ${pct(Math.min(...utilisation))}–${pct(Math.max(...utilisation))}.`,
    '',
    '| router | prompt tokens evaluated | vs random | cache hit | cold loads | TTFT p50 s | TTFT p95 s |' +
      ' in-flight max/mean | peak in-flight | failures | max wait s | same host | evictions (hot) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of results) {
    const vs =
      random === undefined ? '' : `${((r.evaluatedTokens / random.evaluatedTokens - 1) * 100).toFixed(1)}%`;
    lines.push(
      `| ${r.router} | ${count(r.evaluatedTokens)} | ${vs} | ${pct(r.hitRate)} | ${r.coldLoads} |` +
        ` ${sec(r.ttftP50Ms)} | ${sec(r.ttftP95Ms)} | ${r.inFlightMaxOverMean.toFixed(2)} | ${r.peakInFlight} |` +
        ` ${r.failures} | ${sec(r.maxWaitMs)} | ${pct(r.stickiness)} | ${r.evictions} (${r.hotEvictions}) |`,
    );
  }
  return lines.join('\n');
}

/** The chatwire rows' counters, with the shares and means that make them readable. */
export function diagnostics(results: readonly SimResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (!r.router.startsWith('chatwire')) continue;
    const d = r.diagnostics;
    const get = (key: string) => d[key] ?? 0;
    const moves = get('continuations') - get('keptHost');
    const full = get('leftHostFull');
    lines.push(
      `- ${r.workload} N=${r.hosts} ${r.router}: ${r.queuedAtGateway} of ${r.requests} requests waited in the` +
        ` gateway queue (${get('queuedAtGateway')} refusals); of ${get('continuations')} follow-up calls ${get('keptHost')} kept` +
        ` their host, ${moves} moved: host full ${full} (${get('leftHostFullWithCache')} while it held more` +
        ` of the prompt; its next free stream was ${full ? sec(get('homeFreeInMsSum') / full) : '0'} s away),` +
        ` over the balance bound ${get('leftHostOverBalance')} (${get('leftHostOverBalanceWithCache')} with` +
        ` cache), outscored ${get('leftHostOutscored')} (${get('leftHostOutscoredWithCache')} with cache);` +
        ` moves abandoned ${count(get('abandonedCachedTokens'))} cached tokens` +
        ` (${sec(get('abandonedEvalMs'))} s of prompt eval); placed believing the model warm where it was not` +
        ` loaded ${get('believedWarmButUnloaded')}; placed cold while another host was warm` +
        ` ${get('coldWhileAnotherHostWarm')}; the shadow's cached share was off by > 25% of the prompt on` +
        ` ${r.mispredicted ?? 0} requests (mean predicted ${pct(r.meanPredictedShare ?? 0)}, actual` +
        ` ${pct(r.meanActualShare)}).`,
    );
  }
  return lines.join('\n');
}

export function costTable(costs: readonly DecisionCost[]): string {
  const workloads = [...new Set(costs.map((c) => c.workload))];
  const routers = [...new Set(costs.map((c) => c.router))];
  const lines = [
    `| router | ${workloads.map((w) => `${w}: µs per decision`).join(' | ')} |`,
    `|---|${workloads.map(() => '--:').join('|')}|`,
  ];
  for (const router of routers) {
    const cells = workloads.map((w) => {
      const c = costs.find((x) => x.router === router && x.workload === w);
      return c === undefined ? '' : c.decisionUs.toFixed(2);
    });
    lines.push(`| ${router} | ${cells.join(' | ')} |`);
  }
  for (const c of costs) {
    if (c.hashPromptUs === undefined) continue;
    lines.push(
      '',
      `chatwire hashing, ${c.workload}: conversationBlocks(messages) ${c.hashPromptUs.toFixed(1)} µs per request;` +
        ` prompt + reply re-hashed for finish() as this bench does ${(c.hashFinishUs ?? 0).toFixed(1)} µs (the` +
        " server extends the prompt's hasher with the reply instead). Neither is in the decision figure.",
    );
  }
  return lines.join('\n');
}

const cut = (a: number, b: number) => 1 - a / b;

export function targets(results: readonly SimResult[], costs: readonly DecisionCost[]): Target[] {
  const out: Target[] = [];
  const workloads = [...new Set(results.map((r) => r.workload))];
  for (const workload of workloads) {
    const rows = results.filter((r) => r.workload === workload && r.hosts === 4);
    const us = rows.find((r) => r.router === 'chatwire');
    if (us === undefined) continue;
    const baselines = rows.filter((r) => !r.router.startsWith('chatwire'));
    const by = (name: string) => rows.find((r) => r.router === name);
    for (const [name, need] of [
      ['random', 0.5],
      ['sglang', 0.2],
    ] as const) {
      const other = by(name);
      if (other === undefined) continue;
      const got = cut(us.evaluatedTokens, other.evaluatedTokens);
      out.push({
        workload,
        target: `prompt tokens ≥ ${need * 100}% fewer than ${name}`,
        status: got >= need ? 'PASS' : 'FAIL',
        detail: `${pct(got)} fewer (${count(us.evaluatedTokens)} vs ${count(other.evaluatedTokens)})`,
      });
    }
    out.push({
      workload,
      target: 'in-flight max/mean ≤ 1.5',
      status: us.inFlightMaxOverMean <= 1.5 ? 'PASS' : 'FAIL',
      detail: us.inFlightMaxOverMean.toFixed(2),
    });
    const fewest = Math.min(...baselines.map((b) => b.coldLoads));
    const best = baselines.find((b) => b.coldLoads === fewest) as SimResult;
    const floor = new Set(rows.map((r) => r.coldLoads)).size === 1 && us.coldLoads <= us.hosts;
    out.push({
      workload,
      target: 'fewer cold loads than every baseline',
      status: floor ? 'n/a' : us.coldLoads < fewest ? 'PASS' : 'FAIL',
      detail: floor
        ? `every router ${us.coldLoads}: one load per host, none can do fewer`
        : `${us.coldLoads} vs best baseline ${fewest} (${best.router}, with ${best.failures} failures)`,
    });
    out.push({
      workload,
      target: 'no failures',
      status: us.failures === 0 ? 'PASS' : 'FAIL',
      detail: `${us.failures} of ${us.requests} waited > 30 s`,
    });
  }
  for (const c of costs.filter((x) => x.router === 'chatwire')) {
    out.push({
      workload: c.workload,
      target: '< 20 µs per decision (16 hosts)',
      status: c.decisionUs < 20 ? 'PASS' : 'FAIL',
      detail: `${c.decisionUs.toFixed(2)} µs (hashing apart: ${(c.hashPromptUs ?? 0).toFixed(1)} µs)`,
    });
  }
  return out;
}

export function targetList(list: readonly Target[]): string {
  return list.map((t) => `- ${t.status} ${t.workload}: ${t.target}: ${t.detail}`).join('\n');
}

export function writeJson(path: string, record: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
}
