// The gateway's resident memory and open file descriptors over the run, read from /proc (Linux only).
import { readdirSync, readFileSync } from 'node:fs';

export interface Sample {
  /** Seconds since the run started. */
  t: number;
  rssMiB: number;
  fds: number;
}

export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
export function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** RSS slope in MiB per minute over the samples taken after `fromSeconds`. */
export function rssSlopeMiBPerMinute(samples: Sample[], fromSeconds: number): number {
  return slope(samples.filter((s) => s.t >= fromSeconds).map((s) => ({ x: s.t / 60, y: s.rssMiB })));
}

export class ProcWatch {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly startedAt: number,
  ) {}

  start(everyMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sample(): Sample | undefined {
    const rss = rssMiB(this.pid);
    const fds = openFds(this.pid);
    if (rss === undefined || fds === undefined) return undefined;
    const sample = { t: (performance.now() - this.startedAt) / 1000, rssMiB: rss, fds };
    this.samples.push(sample);
    return sample;
  }
}
