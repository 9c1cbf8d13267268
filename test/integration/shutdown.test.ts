import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { postChat } from '../support/start-gateway.js';

const root = new URL('../../', import.meta.url).pathname;

interface Child {
  process: ChildProcess;
  url: string;
  /** Resolves with the first log line whose msg matches. */
  logLine(pattern: RegExp): Promise<Record<string, unknown>>;
}

/** chatwire as users run it: `chatwire serve` in its own process, configured by the environment. */
async function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: root,
    env: { ...process.env, CHATWIRE_PORT: '0', CHATWIRE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
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
  const listening = await logLine(/^listening on/);
  return { process: child, url: String(listening.address), logLine };
}

function connectionRefused(url: string): Promise<boolean> {
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

describe('SIGTERM', () => {
  let sim: OllamaSimulator;
  let child: Child | undefined;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
  });
  afterEach(() => {
    child?.process.kill('SIGKILL');
    child = undefined;
    sim.reset();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('stops accepting, lets running streams finish within the grace period, exits 0', async () => {
    child = await startChild({ OLLAMA_HOST: sim.url, CHATWIRE_SHUTDOWN_GRACE_MS: '10000' });
    sim.behave({ tokens: Array.from({ length: 15 }, (_, i) => `t${i}`), tokenDelayMs: 20 });
    const response = await postChat(child.url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    const exited = once(child.process, 'exit');
    child.process.kill('SIGTERM');
    await child.logLine(/^no longer accepting connections/);
    expect(await connectionRefused(child.url)).toBe(true);
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      text += new TextDecoder().decode(part.value);
    }
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(16);
    expect(lines.at(-1)).toMatchObject({ done: true });
    expect((await exited)[0]).toBe(0);
  }, 20_000);

  it('ends streams still running after the grace period with an error line, then exits 0', async () => {
    child = await startChild({ OLLAMA_HOST: sim.url, CHATWIRE_SHUTDOWN_GRACE_MS: '200' });
    sim.behave({ tokens: Array.from({ length: 1000 }, (_, i) => `t${i}`), tokenDelayMs: 20 });
    const response = await postChat(child.url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    const exited = once(child.process, 'exit');
    child.process.kill('SIGTERM');
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      text += new TextDecoder().decode(part.value);
    }
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.length).toBeLessThan(1000);
    expect(lines.at(-1)).toEqual({ error: 'chatwire is shutting down' });
    expect((await sim.nextAbort()).phase).toBe('stream');
    expect((await exited)[0]).toBe(0);
  }, 20_000);

  it('exits with a message naming the variable when the configuration is invalid', async () => {
    const bad = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: root,
      env: { ...process.env, CHATWIRE_IDLE_TIMEOUT_MS: 'soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    const [code] = await once(bad, 'exit');
    expect(code).toBe(2);
    expect(stderr).toMatch(/CHATWIRE_IDLE_TIMEOUT_MS="soon"/);
  }, 20_000);
});
