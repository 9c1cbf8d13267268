// The soak's printed summary and its JSON record under soak/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SoakResult } from './soak.js';

function table(title: string, rows: Record<string, number>): string[] {
  const entries = Object.entries(rows).sort((a, b) => b[1] - a[1]);
  const width = Math.max(title.length, ...entries.map(([name]) => name.length));
  return [title, ...entries.map(([name, n]) => `  ${name.padEnd(width)}  ${String(n).padStart(7)}`)];
}

export function summary(r: SoakResult): string {
  const f = r.figures;
  return [
    `soak: ${f.streams} streams in ${r.durationSeconds.toFixed(0)} s (${r.streamsPerSecond.toFixed(1)}/s), ` +
      `${r.options.concurrency} at once, seed ${r.options.seed}, ${r.restarts} host restarts`,
    ...table('scenarios (faults injected)', r.scenarios),
    ...table('outcomes', r.outcomes),
    ...table('gateway upstream errors (/metrics)', r.upstreamErrors),
    `RSS after ${r.options.warmupSeconds} s warm-up: ${r.rss.startMiB.toFixed(1)} → ${r.rss.endMiB.toFixed(1)} MiB ` +
      `(peak ${r.rss.peakMiB.toFixed(1)}), slope ${f.rssSlopeMiBPerMinute.toFixed(2)} MiB/min (limit ${f.rssSlopeLimitMiBPerMinute})`,
    `open fds: ${f.fdBaseline} at rest before, ${f.fdAfter} after; streams left open: ${f.leftOpen}`,
    `warnings/errors/unhandled rejections in the gateway's output: ${f.alarms}`,
    ...r.alarms.slice(0, 10).map((a) => `  ${a}`),
    `outcome violations: ${f.outcomeViolations}`,
    ...(f.outcomeViolations > 0 ? table('  streams with a violation, by start', r.violationsByStart) : []),
    ...r.outcomeExamples.slice(0, 20).map((v) => `  ${v}`),
    r.violations.length === 0 ? 'PASS' : `FAIL:\n  ${r.violations.join('\n  ')}`,
  ].join('\n');
}

/** Writes the figures (RSS samples included) to soak/results/<timestamp>.json and returns the path. */
export function writeResult(r: SoakResult, dir = new URL('./results/', import.meta.url).pathname): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(r, null, 2)}\n`);
  return path;
}
