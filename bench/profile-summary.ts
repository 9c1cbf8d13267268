// Summarises a V8 .cpuprofile (written by chatwire under `--cpu-prof`): where its busy time went, by function.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  ms: number;
  share: number;
  name: string;
}

/**
 * Functions by self time, idle excluded; `share` is of the busy time. `window` (µs on the profile's clock,
 * CLOCK_MONOTONIC on Linux like process.hrtime) keeps only the samples taken inside it.
 */
export function topSelfTime(
  path: string,
  count: number,
  window: [number, number] = [0, Number.POSITIVE_INFINITY],
): { busyMs: number; lines: ProfileLine[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const names = new Map(profile.nodes.map((node) => [node.id, describe(node)]));
  const selfMicros = new Map<string, number>();
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < window[0] || at > window[1]) return;
    const name = names.get(id) ?? '?';
    if (name.startsWith('(idle)')) return;
    busy += delta;
    selfMicros.set(name, (selfMicros.get(name) ?? 0) + delta);
  });
  const lines = [...selfMicros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => ({ ms: micros / 1000, share: micros / Math.max(1, busy), name }));
  return { busyMs: busy / 1000, lines };
}

function describe(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  // Paths relative to the package (or to node_modules) keep the lines short and comparable across machines.
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
}
