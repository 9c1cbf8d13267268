import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CanaryServer, startCanary } from '../../support/canary-server.js';
import {
  type OllamaSimulator,
  type RecordedRequest,
  startOllamaSimulator,
} from '../../support/ollama-simulator.js';
import { type OpenAiSimulator, startOpenAiSimulator } from '../../support/openai-simulator.js';
import { startPool } from '../../support/pool-fixture.js';
import { rawRequest } from '../../support/raw-http.js';
import { type RunningGateway, startGateway } from '../../support/start-gateway.js';

// Every request names a model or an id that tries to steer chatwire somewhere else: up a path, into
// another host (userinfo, scheme, network path), into a query or fragment, across a header line.
let canary: CanaryServer;
let sim: OllamaSimulator;
let openAi: OpenAiSimulator;
let chatwire: RunningGateway | undefined;

beforeAll(async () => {
  [canary, sim, openAi] = await Promise.all([startCanary(), startOllamaSimulator(), startOpenAiSimulator()]);
});
afterAll(async () => {
  await Promise.all([canary.close(), sim.close(), openAi.close()]);
});
afterEach(async () => {
  await chatwire?.close();
  chatwire = undefined;
  sim.reset();
  openAi.reset();
});

const CLIENT_SECRET = 'client-secret-4b1d';

function hostileNames(): string[] {
  const elsewhere = canary.host;
  return [
    '../x',
    'a/../../api/delete',
    `x@${elsewhere}`,
    'x%2f..%2f..%2fapi%2fdelete',
    '%2e%2e/%2e%2e/api/pull',
    '..\\..\\api\\delete',
    `http://${elsewhere}/`,
    `//${elsewhere}/api/chat`,
    'qwen?x=1',
    'qwen#fragment',
    `qwen\r\nHost: ${elsewhere}\r\n\r\nGET / HTTP/1.1`,
    `qwen\nx`,
    'a'.repeat(5_000),
  ];
}

/** In a path: as sent where HTTP allows it, else percent-encoded. */
function pathSegment(name: string): string {
  return /^[\x21-\x7e]*$/.test(name)
    ? name.replaceAll('#', '%23').replaceAll('?', '%3F')
    : encodeURIComponent(name);
}

/** Every route that reaches an upstream, and those that take an id in the path, with `name` as model or id. */
async function attack(url: string, name: string): Promise<number[]> {
  const created = await rawRequest(url, 'POST', '/v1/conversations', { body: '{}' });
  const { id } = JSON.parse(created.body) as { id: string };
  // A reply to regenerate, with the persona's own model.
  await rawRequest(url, 'POST', `/v1/conversations/${id}/messages`, { body: '{"content":"hi"}' });
  const messages = [{ role: 'user', content: 'hi' }];
  // A client's own credentials and forwarding headers are the client's: none of them may go upstream.
  const headers = {
    authorization: `Bearer ${CLIENT_SECRET}`,
    'x-api-key': CLIENT_SECRET,
    cookie: `session=${CLIENT_SECRET}`,
    'x-forwarded-host': canary.host,
    origin: `http://${canary.host}`,
  };
  const json = (value: unknown) => ({ body: JSON.stringify(value), headers });
  const raw = pathSegment(name);
  const encoded = encodeURIComponent(name);
  const answers = await Promise.all([
    rawRequest(url, 'POST', '/v1/chat', json({ model: name, messages })),
    rawRequest(url, 'POST', '/v1/chat', json({ model: name, messages, stream: false })),
    rawRequest(url, 'POST', '/api/chat', json({ model: name, messages })),
    rawRequest(url, 'POST', '/api/chat', json({ model: name, messages, stream: false })),
    rawRequest(url, 'POST', '/api/generate', json({ model: name, prompt: 'hi' })),
    rawRequest(url, 'POST', '/api/show', json({ model: name })),
    rawRequest(url, 'POST', '/api/show', json({ name })),
    rawRequest(url, 'POST', '/v1/chat/completions', json({ model: name, messages, stream: true })),
    rawRequest(url, 'POST', '/v1/chat/completions', json({ model: name, messages })),
    rawRequest(url, 'POST', `/v1/conversations/${id}/messages`, json({ content: 'hi', model: name })),
    rawRequest(url, 'POST', `/v1/conversations/${id}/regenerate`, json({ model: name })),
    rawRequest(url, 'GET', `/v1/models/${raw}`, { headers }),
    rawRequest(url, 'GET', `/v1/models/${encoded}`, { headers }),
    rawRequest(url, 'GET', `/v1/models?id=${encoded}`, { headers }),
    rawRequest(url, 'GET', `/api/tags?model=${encoded}`, { headers }),
    rawRequest(url, 'GET', `/api/ps?model=${encoded}`, { headers }),
    rawRequest(url, 'GET', `/api/version?x=${encoded}`, { headers }),
    rawRequest(url, 'GET', `/v1/conversations/${raw}`, { headers }),
    rawRequest(url, 'POST', `/v1/conversations/${raw}/messages`, json({ content: 'hi' })),
    rawRequest(url, 'GET', `/v1/conversations/${raw}/stream`, { headers }),
    rawRequest(url, 'GET', `/v1/generations/${raw}/stream`, { headers }),
    rawRequest(url, 'POST', `/v1/generations/${raw}/stop`, { headers }),
    // Ollama routes chatwire does not serve must not be passed through.
    rawRequest(url, 'POST', '/api/pull', json({ model: name })),
    rawRequest(url, 'DELETE', '/api/delete', json({ model: name })),
    rawRequest(url, 'POST', `/api/${raw}`, json({ model: name })),
  ]);
  return answers.map((answer) => answer.status);
}

/** What the upstream saw: only the configured host, only the paths chatwire calls, never a query. */
function expectOnlyKnownCalls(requests: RecordedRequest[], host: string, allowed: string[]): void {
  expect(requests.length).toBeGreaterThan(0);
  const calls = new Set(requests.map((request) => `${request.method} ${request.target}`));
  expect([...calls].filter((call) => !allowed.includes(call))).toEqual([]);
  expect(new Set(requests.map((request) => request.headers.host))).toEqual(new Set([host]));
  const forwarded = requests.flatMap((request) => Object.entries(request.headers));
  expect(forwarded.filter(([, value]) => String(value).includes(CLIENT_SECRET))).toEqual([]);
  expect(
    forwarded.filter(([name]) => ['cookie', 'x-api-key', 'x-forwarded-host', 'origin'].includes(name)),
  ).toEqual([]);
}

/** The hostile names arrived intact, as JSON body fields, on the chat calls. */
function modelsSent(requests: RecordedRequest[], path: string): Set<unknown> {
  return new Set(
    requests
      .filter((request) => request.path === path)
      .map((request) => (request.body as { model?: unknown }).model),
  );
}

const OLLAMA_CALLS = ['POST /api/chat', 'POST /api/show', 'GET /api/tags', 'GET /api/ps', 'GET /api/version'];

describe('no request makes chatwire call a URL it was not configured with', () => {
  it('Ollama upstream with CHATWIRE_ALLOWED_MODELS=*: names travel only in bodies, no 5xx, canary untouched', async () => {
    chatwire = await startGateway(sim.url, { CHATWIRE_ALLOWED_MODELS: '*' });
    const statuses: number[] = [];
    for (const name of hostileNames()) statuses.push(...(await attack(chatwire.url, name)));
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expectOnlyKnownCalls(sim.requests, `127.0.0.1:${sim.port}`, OLLAMA_CALLS);
    const sent = modelsSent(sim.requests, '/api/chat');
    for (const name of hostileNames()) expect(sent.has(name)).toBe(true);
    expect(canary.connections).toBe(0);
  });

  it('Ollama upstream with the default allow-list: hostile names are refused before any upstream call', async () => {
    chatwire = await startGateway(sim.url);
    for (const name of hostileNames()) {
      const statuses = await attack(chatwire.url, name);
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
    }
    expectOnlyKnownCalls(sim.requests, `127.0.0.1:${sim.port}`, OLLAMA_CALLS);
    // Only the persona's own model was ever asked for (the set-up turn of each conversation).
    expect(modelsSent(sim.requests, '/api/chat')).toEqual(new Set(['qwen2.5:7b']));
    expect(sim.requests.filter((request) => request.path === '/api/show')).toEqual([]);
    expect(canary.connections).toBe(0);
  });

  it('OpenAI-compatible upstream: only /v1/chat/completions and /v1/models under its base URL', async () => {
    chatwire = await startGateway(openAi.url, {
      CHATWIRE_UPSTREAM_KIND: 'openai',
      CHATWIRE_UPSTREAM_URL: `${openAi.url}/v1`,
      CHATWIRE_MODEL: 'gpt-4o-mini',
      CHATWIRE_ALLOWED_MODELS: '*',
    });
    const statuses: number[] = [];
    for (const name of hostileNames()) statuses.push(...(await attack(chatwire.url, name)));
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expectOnlyKnownCalls(openAi.requests, `127.0.0.1:${openAi.port}`, [
      'POST /v1/chat/completions',
      'GET /v1/models',
    ]);
    const sent = modelsSent(openAi.requests, '/v1/chat/completions');
    for (const name of hostileNames()) expect(sent.has(name)).toBe(true);
    expect(canary.connections).toBe(0);
  });

  it('a pool: every host is called only on its own paths, and no other host is', async () => {
    const pool = await startPool({ hosts: 2 });
    try {
      const statuses: number[] = [];
      for (const name of hostileNames()) statuses.push(...(await attack(pool.chatwire.url, name)));
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
      for (const host of pool.sims) expectOnlyKnownCalls(host.requests, pool.nameOf(host), OLLAMA_CALLS);
      // A pool routes by its hosts' catalogs: a name no host lists is a 404 before any chat call.
      const sent = new Set(pool.sims.flatMap((host) => [...modelsSent(host.requests, '/api/chat')]));
      for (const name of hostileNames()) expect(sent.has(name)).toBe(false);
      expect(canary.connections).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
