// Reads what the kernel knows about a process. Linux only: elsewhere every reader returns undefined and the
// report says "n/a" rather than guessing.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export const procAvailable = existsSync('/proc/self/stat');

// utime and stime are in clock ticks; 100 Hz almost everywhere, but the kernel says for sure.
const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Microseconds of CPU (user + system, all threads, dead ones included) the process has used so far. */
export function cpuMicros(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces and parentheses, so fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / clockTicksPerSecond;
}

export const cpuResolutionMicros = 1e6 / clockTicksPerSecond;

/** Peak resident set size (VmHWM) in bytes: the high-water mark since start or since resetPeakRss(). */
export function peakRssBytes(pid: number): number | undefined {
  return statusKilobytes(pid, 'VmHWM');
}

/**
 * Lowers VmHWM to the current RSS (Linux ≥ 4.0), so the next reading is the peak of what follows rather than
 * of startup, which for chatwire is the highest point of an idle process's life.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface CpuSnapshot {
  atMs: number;
  /** Time all CPUs together spent running processes. */
  systemBusyMicros: number | undefined;
  processMicros: Record<string, number | undefined>;
}

export function cpuSnapshot(pids: Record<string, number>): CpuSnapshot {
  const processMicros: Record<string, number | undefined> = {};
  for (const [name, pid] of Object.entries(pids)) processMicros[name] = cpuMicros(pid);
  return { atMs: performance.now(), systemBusyMicros: systemBusyMicros(), processMicros };
}

export interface CpuUse {
  /** CPU milliseconds per named process over the interval. */
  processMs: Record<string, number | undefined>;
  /**
   * Share of the machine's CPU capacity used by everything else over the interval. The machine may be shared
   * (other builds, test runs); a high share means the figures are disturbed, and the report says so.
   */
  otherShare: number | undefined;
}

export function cpuUse(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const processMs: Record<string, number | undefined> = {};
  let ours = 0;
  for (const name of Object.keys(after.processMicros)) {
    const start = before.processMicros[name];
    const end = after.processMicros[name];
    processMs[name] = start === undefined || end === undefined ? undefined : (end - start) / 1000;
    ours += (processMs[name] ?? 0) * 1000;
  }
  let otherShare: number | undefined;
  if (before.systemBusyMicros !== undefined && after.systemBusyMicros !== undefined) {
    const capacity = (after.atMs - before.atMs) * 1000 * availableParallelism();
    const others = after.systemBusyMicros - before.systemBusyMicros - ours;
    // Tick rounding on short runs can push the difference slightly past either bound.
    otherShare = Math.min(1, Math.max(0, others / capacity));
  }
  return { processMs, otherShare };
}

/**
 * Resolves once the process has used no CPU for `quietMs` (or after `maxMs`): chatwire answers /health while
 * still finishing its startup, and that work belongs to neither the warm-up nor the measurement.
 */
export async function settled(pid: number, quietMs = 300, maxMs = 5_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = cpuMicros(pid);
  let quietSince = performance.now();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = cpuMicros(pid);
    if (now === undefined) return;
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= quietMs) {
      return;
    }
  }
}

/**
 * Waits (at most `maxMs`) for a window of `windowMs` in which processes other than `pids` use less than
 * `threshold` of the machine: on a shared machine, a build running next door would otherwise be measured as
 * chatwire's cost. Resolves false if the machine never got quiet.
 */
export async function quietMachine(
  pids: Record<string, number>,
  maxMs = 60_000,
  windowMs = 500,
  threshold = 0.05,
): Promise<boolean> {
  if (!procAvailable) return true;
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const before = cpuSnapshot(pids);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const share = cpuUse(before, cpuSnapshot(pids)).otherShare;
    if (share === undefined || share < threshold) return true;
  }
  return false;
}

// Process time only (user, nice, system): the loopback network stack's softirq time is not charged to any
// process, and counting it would make our own traffic look like someone else's load.
function systemBusyMicros(): number | undefined {
  const line = read('/proc/stat')?.split('\n', 1)[0];
  if (line === undefined || !line.startsWith('cpu ')) return undefined;
  const [user = 0, nice = 0, system = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system) * 1e6) / clockTicksPerSecond;
}

/** The soft limit on open files for this process (children inherit it). */
export function openFilesLimit(): number | undefined {
  const limits = read('/proc/self/limits');
  const line = limits?.split('\n').find((entry) => entry.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

function statusKilobytes(pid: number, field: string): number | undefined {
  const status = read(`/proc/${pid}/status`);
  const match = status?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
