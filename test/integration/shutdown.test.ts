import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Child, CLI, connectionRefused, root, startChild } from '../support/child-gateway.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { postChat } from '../support/start-gateway.js';

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

  it('shuts down gracefully on SIGTERM while still waiting for the upstream to say what it serves', async () => {
    // An upstream that accepts connections and never answers keeps the start-up description pending.
    const silent = createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      child = await startChild({
        OLLAMA_HOST: `http://127.0.0.1:${port}`,
        CHATWIRE_CONNECT_TIMEOUT_MS: '60000',
      });
      const exited = once(child.process, 'exit');
      child.process.kill('SIGTERM');
      await child.logLine(/^stopped$/);
      expect(await exited).toEqual([0, null]);
    } finally {
      silent.close();
    }
  }, 20_000);

  it('exits with a message naming the variable when the configuration is invalid', async () => {
    const bad = spawn(process.execPath, [...CLI, 'serve'], {
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

  it('takes every configuration variable as a flag, and says which models the upstream has', async () => {
    child = await startChild({ OLLAMA_HOST: 'http://127.0.0.1:1', CHATWIRE_MODEL: 'from-env' }, [
      '--ollama-host',
      sim.url,
      '--model',
      'llama3.2',
      '--first-token-timeout-ms',
      '1234',
    ]);
    const upstreamLine = await child.logLine(/^upstream /);
    expect(upstreamLine.msg).toMatch(/is reachable; models: qwen2\.5:7b, llama3\.2:latest/);
    const info = (await (await fetch(`${child.url}/info`)).json()) as {
      model: string;
      upstream: { url: string };
    };
    expect(info).toMatchObject({ model: 'llama3.2', upstream: { url: sim.url } });
  }, 20_000);

  it('says how to fix an unreachable Ollama', async () => {
    child = await startChild({ OLLAMA_HOST: 'http://127.0.0.1:1' });
    const upstreamLine = await child.logLine(/^upstream /);
    expect(upstreamLine.msg).toMatch(
      /^upstream unreachable: cannot connect to Ollama .* Is "ollama serve" running\?/,
    );
  }, 20_000);
});
