// The servers under test run as child processes, each pinned to its own CPU where `taskset` exists, so
// one's work never shows up in the other's figures.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { request } from 'undici';

export interface Child {
  pid: number;
  origin: string;
  /** The last lines the process wrote (stdout and stderr), for diagnosing a failed scenario. */
  recentOutput: string[];
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const KEPT_LINES = 20;

const tasksetAvailable = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Pinning needs taskset and at least two CPUs (upstream + load generator on 0, chatwire on 1). */
export const canPin = tasksetAvailable && availableParallelism() >= 2;

const children = new Set<ChildProcess>();
// A crashed or interrupted harness must not leave servers holding ports and CPUs.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Pins every thread of this process (the load generator) to `cpu`. */
export function pinSelf(cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** `cpu` undefined: not pinned. */
export function startUpstream(cpu: number | undefined): Promise<Child> {
  return startScript('fast upstream', ['bench/fast-upstream.ts'], cpu);
}

/** The floor relays (bench/floor-relays.ts) that chatwire's figures are compared with. */
export const FLOOR_KINDS = ['tcp', 'http'] as const;
export type FloorKind = (typeof FLOOR_KINDS)[number];

/** chatwire's own heap tuning (src/cli/heap-tuning.ts), so memory figures differ by code, not by V8 settings. */
const FLOOR_HEAP_FLAGS = ['--heap-growing-percent=50', '--semi-space-growth-factor=1'];

/**
 * Runs as plain JavaScript: under tsx, the module loader's own thread would add its heap to the floor's RSS.
 */
export function startFloor(kind: FloorKind, upstream: Child, cpu: number | undefined): Promise<Child> {
  return startScript(`${kind} floor relay`, [floorScript(), kind, upstream.origin], cpu, FLOOR_HEAP_FLAGS);
}

let compiledFloor: string | undefined;

function floorScript(): string {
  if (compiledFloor === undefined) {
    const source = readFileSync('bench/floor-relays.ts', 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    compiledFloor = 'bench/results/floor-relays.mjs';
    mkdirSync(dirname(compiledFloor), { recursive: true });
    writeFileSync(compiledFloor, outputText);
  }
  return compiledFloor;
}

/** A bench TypeScript server that prints {"port":N} once listening. */
async function startScript(
  what: string,
  args: string[],
  cpu: number | undefined,
  nodeArgs = ['--import', 'tsx'],
): Promise<Child> {
  const child = launch([...nodeArgs, ...args], process.env, cpu);
  const output = keepOutput(child);
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), STARTUP_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${output.lines.join('\n')}`)));
    output.onLine = (line) => {
      clearTimeout(timer);
      output.onLine = undefined;
      resolve(line);
    };
  });
  const { port } = JSON.parse(firstLine) as { port: number };
  return handle(child, `http://127.0.0.1:${port}`, output.lines);
}

/** `node dist/cli/main.js serve`, ready once /health answers. */
export async function startChatwire(
  env: Record<string, string>,
  cpu: number | undefined,
  nodeArgs: string[] = [],
): Promise<Child> {
  const port = await freePort();
  const child = launch(
    [...nodeArgs, 'dist/cli/main.js', 'serve'],
    { ...process.env, ...env, CHATWIRE_PORT: String(port) },
    cpu,
  );
  const output = keepOutput(child);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`chatwire exited (${child.exitCode}): ${output.lines.join('\n')}`);
    try {
      const response = await request(`${origin}/health`);
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`chatwire did not answer /health: ${output.lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return handle(child, origin, output.lines);
}

function launch(args: string[], env: NodeJS.ProcessEnv, cpu: number | undefined): ChildProcess {
  // taskset execs node, so the child's pid is node's own and /proc readings are about the server.
  const [command, commandArgs] =
    cpu === undefined
      ? [process.execPath, args]
      : ['taskset', ['-c', String(cpu), process.execPath, ...args]];
  const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function keepOutput(child: ChildProcess) {
  const kept: { lines: string[]; onLine: ((line: string) => void) | undefined } = {
    lines: [],
    onLine: undefined,
  };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    // Reading everything matters: a child blocked on a full pipe would look like a slow server.
    createInterface({ input: stream }).on('line', (line) => {
      kept.onLine?.(line);
      kept.lines.push(line);
      if (kept.lines.length > KEPT_LINES) kept.lines.shift();
    });
  }
  return kept;
}

function handle(child: ChildProcess, origin: string, recentOutput: string[]): Child {
  return {
    pid: child.pid as number,
    origin,
    recentOutput,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A loopback port that was free a moment ago: at log level warn chatwire does not log where it listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
