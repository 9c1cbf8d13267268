import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const root = new URL('../../', import.meta.url).pathname;

/** `node` arguments that run the chatwire command from source (cwd: `root`). */
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/**
 * The environment for a client command (`chat`, `models`, …): the developer's own CHATWIRE_URL and
 * CHATWIRE_API_KEY must not leak into what the tests see, unless a test sets them.
 */
export function clientEnv(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...overrides };
  for (const name of ['CHATWIRE_URL', 'CHATWIRE_API_KEY']) if (!overrides[name]) delete env[name];
  return env;
}

export interface Child {
  process: ChildProcess;
  url: string;
  /** Every log line it has written so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose msg matches. */
  logLine(pattern: RegExp): Promise<Record<string, unknown>>;
}

/** chatwire as users run it: `chatwire serve` in its own process, configured by the environment. */
export async function startChild(env: Record<string, string>, args: string[] = []): Promise<Child> {
  return launchChild(env, { args }).listening;
}

export interface LaunchOptions {
  args?: string[];
  /** How `node` runs the command: from source by default, or a bundle (`bundled-cli.ts`). */
  cli?: string[];
  /** 'pipe' for a child that waits for a line on stdin before it starts (`bundled-cli.ts` `heldArgs`). */
  stdin?: 'ignore' | 'pipe';
}

/** `startChild` with the process in hand before it listens. */
export function launchChild(
  env: Record<string, string>,
  options: LaunchOptions = {},
): { process: ChildProcess; listening: Promise<Child> } {
  const child = spawn(process.execPath, [...(options.cli ?? CLI), 'serve', ...(options.args ?? [])], {
    cwd: root,
    env: {
      ...process.env,
      CHATWIRE_PORT: '0',
      CHATWIRE_LOG_LEVEL: 'info',
      // Its own storage, never the repository's ./data.
      CHATWIRE_DATA_DIR: mkdtempSync(join(tmpdir(), 'chatwire-child-')),
      ...env,
    },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'inherit'],
  });
  const waiters: Array<{ pattern: RegExp; resolve: (line: Record<string, unknown>) => void }> = [];
  const seen: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    seen.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(String(line.msg))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const logLine = (pattern: RegExp) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const earlier = seen.find((line) => pattern.test(String(line.msg)));
      if (earlier) resolve(earlier);
      else waiters.push({ pattern, resolve });
    });
  const listening = logLine(/^listening on/).then((line) => ({
    process: child,
    url: String(line.address),
    lines: seen,
    logLine,
  }));
  return { process: child, listening };
}

export function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
