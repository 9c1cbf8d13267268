// `npm run bench:routing [-- --quick] [--seed N] [--what-if]`: the gateway's router against five baselines
// on the same simulated traces, then the targets at N = 4 and the router's CPU per decision.
// bench/routing/README.md describes the model and its constants.
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chwblRouter } from './baselines/chwbl.js';
import { leastBusyRouter } from './baselines/least-busy.js';
import { randomRouter } from './baselines/random.js';
import { roundRobinRouter } from './baselines/round-robin.js';
import { sglangRouter } from './baselines/sglang-cache-aware.js';
import { chatwireRouter } from './chatwire-router.js';
import * as constants from './constants.js';
import { COST_HOSTS, type DecisionCost, measureBaseline, measureChatwire } from './decision-cost.js';
import { costTable, diagnostics, type Meta, table, targetList, targets, writeJson } from './report.js';
import type { RouterFactory } from './sim-router.js';
import { type SimResult, simulate } from './simulate.js';
import { buildWorkload, WORKLOAD_NAMES } from './workloads.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const whatIf = args.includes('--what-if');
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 1;
if (!Number.isInteger(seed)) throw new Error('--seed takes an integer');

const baselines: RouterFactory[] = [
  randomRouter,
  roundRobinRouter,
  leastBusyRouter,
  chwblRouter,
  sglangRouter('least-loaded'),
  sglangRouter('first-in-map'),
];
const routers: RouterFactory[] = [chatwireRouter(), ...baselines];
const variants: RouterFactory[] = whatIf ? [chatwireRouter({ pinModels: true })] : [];

const meta: Meta = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  seed,
  quick,
  constants: Object.fromEntries(Object.entries(constants).filter(([, v]) => typeof v === 'number')) as Record<
    string,
    number
  >,
};
console.log(`# chatwire routing simulation${quick ? ' (quick)' : ''}, seed ${seed}`);
console.log(`\n${meta.cpu}, ${meta.cores} cores, Node ${meta.node}\n`);
console.log(
  Object.entries(meta.constants)
    .map(([k, v]) => `${k}=${v}`)
    .join(', '),
);

const started = performance.now();
const results: SimResult[] = [];
for (const name of WORKLOAD_NAMES) {
  for (const hosts of [4, 8]) {
    const workload = buildWorkload(name, { hosts, seed, quick });
    const rows = [...routers, ...(name === 'mix' ? variants : variants.slice(0, 1))].map((factory) =>
      simulate(workload, hosts, factory, seed),
    );
    results.push(...rows);
    console.log(`\n${table(rows)}`);
  }
}

const costs: DecisionCost[] = [];
const minDecisions = quick ? 5_000 : 40_000;
for (const name of ['chat', 'agent'] as const) {
  const workload = buildWorkload(name, { hosts: COST_HOSTS, seed, quick: true });
  costs.push(measureChatwire(workload, minDecisions));
  for (const factory of baselines) costs.push(measureBaseline(workload, factory, minDecisions));
}

const checked = targets(results, costs);
console.log('\n## chatwire decisions\n');
console.log(diagnostics(results));
console.log(`\n## CPU per decision, ${COST_HOSTS} hosts, warmed up\n`);
console.log(costTable(costs));
console.log('\n## Targets (N = 4)\n');
console.log(targetList(checked));
console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s`);

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const path = fileURLToPath(new URL(`results/routing-${stamp}.json`, import.meta.url));
writeJson(path, { meta, results, costs, targets: checked });
console.log(`JSON: ${path}`);
