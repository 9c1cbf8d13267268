import { spawn } from 'node:child_process';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, clientEnv, root } from '../../support/child-gateway.js';
import { bearer, type KeysFixture, startWithKeys } from '../../support/keys-fixture.js';
import { until } from '../../support/pool-fixture.js';
import { chatBody } from '../../support/start-gateway.js';

let fixture: (KeysFixture & { keys: Record<string, string> }) | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const WRONG = `cw_${'A'.repeat(32)}`;

async function call(url: string, path: string, init: { key?: string; body?: unknown; method?: string } = {}) {
  return fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.key !== undefined && bearer(init.key)) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
}

describe('API keys', () => {
  it('once a key exists, every /v1 and /api route needs it: 401 in the route’s own envelope', async () => {
    fixture = await startWithKeys([{ name: 'alice' }]);
    const { url } = fixture.chatwire;
    const chat = { messages: [{ role: 'user', content: 'hi' }] };
    for (const key of [undefined, WRONG, 'not-a-key']) {
      const ollamaStyle = await call(url, '/v1/chat', { ...(key !== undefined && { key }), body: chat });
      expect(ollamaStyle.status).toBe(401);
      expect(ollamaStyle.headers.get('www-authenticate')).toBe('Bearer');
      expect(await ollamaStyle.json()).toEqual({ error: expect.stringMatching(/API key/) });
      const native = await call(url, '/api/chat', {
        ...(key !== undefined && { key }),
        body: { model: 'qwen2.5:7b', ...chat },
      });
      expect(native.status).toBe(401);
      expect(await native.json()).toEqual({ error: expect.any(String) });
      const openai = await call(url, '/v1/chat/completions', {
        ...(key !== undefined && { key }),
        body: { model: 'qwen2.5:7b', ...chat },
      });
      expect(openai.status).toBe(401);
      expect(((await openai.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    }
    for (const path of ['/api/tags', '/v1/models', '/v1/conversations', '/v1/personas', '/v1/upstreams']) {
      expect((await call(url, path)).status, path).toBe(401);
    }
    // Nothing reached the model server.
    expect(fixture.sim.requests.filter((request) => request.path === '/api/chat')).toHaveLength(0);
    // The open routes stay open.
    expect((await call(url, '/health')).status).toBe(200);
    expect((await call(url, '/ready')).status).toBe(200);
    expect(await (await call(url, '/')).text()).toBe('Ollama is running');

    const ok = await call(url, '/v1/chat', { key: fixture.keys.alice as string, body: chat });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/"done":true/);
  });

  it('works with the official clients: the OpenAI SDK’s apiKey and ollama-js’s headers', async () => {
    fixture = await startWithKeys([{ name: 'alice' }]);
    const { url } = fixture.chatwire;
    const key = fixture.keys.alice as string;
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: 'qwen2.5:7b',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Hello world');
    const refused = new OpenAI({ baseURL: `${url}/v1`, apiKey: WRONG, maxRetries: 0 });
    await expect(refused.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    const ollama = new Ollama({ host: url, headers: bearer(key) });
    const reply = await ollama.chat({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.message.content).toBe('Hello world');
    await expect(new Ollama({ host: url }).list()).rejects.toMatchObject({ status_code: 401 });
  });

  it('takes a key created or revoked while running within seconds, without a restart', async () => {
    fixture = await startWithKeys([]);
    const { url } = fixture.chatwire;
    // No key yet: auth is off.
    expect((await call(url, '/v1/conversations')).status).toBe(200);
    const key = await fixture.createKey('late');
    await until('auth is on', async () => (await call(url, '/v1/conversations')).status === 401);
    expect((await call(url, '/v1/conversations', { key })).status).toBe(200);
    await fixture.storage.keys.revoke('late');
    await until(
      'the key is refused',
      async () => (await call(url, '/v1/conversations', { key })).status === 401,
    );
  });

  it('the chatwire command: keys create prints a key once, models and doctor use it, revoke ends it', async () => {
    fixture = await startWithKeys([]);
    const env = { CHATWIRE_DATA_DIR: fixture.dataDir, DATABASE_URL: '', OLLAMA_HOST: fixture.sim.url };
    const created = await runCli(['keys', 'create', '--name', 'ci', '--streams', '2'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^cw_[A-Za-z0-9_-]{32}$/);
    expect(created.stderr).toContain('it is not shown again');
    const listed = await runCli(['keys', 'list'], env);
    expect(listed.stdout).toMatch(/^ci\s+cw_\S{8}…\s+-\s+2\s/m);
    expect(listed.stdout).not.toContain(key);
    const url = fixture.chatwire.url;
    // Auth turns on when the gateway has read the key: until then it serves everyone.
    await until('the gateway has read the key', async () => (await call(url, '/v1/models')).status === 401);
    expect((await call(url, '/v1/models', { key })).status).toBe(200);
    expect((await runCli(['models', '--url', url], env)).stderr).toMatch(/API key/);
    expect((await runCli(['models', '--url', url], { ...env, CHATWIRE_API_KEY: key })).code).toBe(0);
    expect((await runCli(['doctor'], env)).stdout).toMatch(/^ok\s+API keys: 1 active \(0 admin\)/m);
    expect((await runCli(['keys', 'revoke', 'ci'], env)).code).toBe(0);
    await until('the key is refused', async () => (await call(url, '/v1/models', { key })).status === 401);
  }, 30_000);

  it('keeps /metrics open, or behind an admin key with CHATWIRE_METRICS_REQUIRE_KEY=true', async () => {
    fixture = await startWithKeys([{ name: 'alice' }, { name: 'root', admin: true }]);
    expect((await call(fixture.chatwire.url, '/metrics')).status).toBe(200);
    await fixture.close();
    fixture = await startWithKeys([{ name: 'alice' }, { name: 'root', admin: true }], {
      CHATWIRE_METRICS_REQUIRE_KEY: 'true',
    });
    const { url } = fixture.chatwire;
    expect((await call(url, '/metrics')).status).toBe(401);
    const notAdmin = await call(url, '/metrics', { key: fixture.keys.alice as string });
    expect(notAdmin.status).toBe(403);
    expect(((await notAdmin.json()) as { error: string }).error).toMatch(/needs an admin key/);
    const admin = await call(url, '/metrics', { key: fixture.keys.root as string });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toMatch(/^# HELP /m);
  });

  it('with CHATWIRE_REQUIRE_AUTH=true, refuses everyone while no key exists', async () => {
    fixture = await startWithKeys([], { CHATWIRE_REQUIRE_AUTH: 'true' });
    expect((await call(fixture.chatwire.url, '/v1/chat', { body: JSON.parse(chatBody()) })).status).toBe(401);
  });

  it('records when each key was last used, and never logs a key', async () => {
    fixture = await startWithKeys([{ name: 'alice' }]);
    const key = fixture.keys.alice as string;
    expect((await call(fixture.chatwire.url, '/v1/conversations', { key })).status).toBe(200);
    await until('last use is recorded', async () => {
      const [record] = (await fixture?.storage.keys.list()) ?? [];
      return record?.lastUsedAt !== null && record?.lastUsedAt !== undefined;
    });
    await call(fixture.chatwire.url, '/v1/conversations', { key: `${key.slice(0, -1)}x` });
    const logged = JSON.stringify(fixture.logLines);
    expect(logged).not.toContain(key.slice(3));
    expect(logged).not.toContain(key.slice(3, -1));
  });
});

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: root,
    env: clientEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
  });
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
}
