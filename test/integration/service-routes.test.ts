import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import {
  closedPort,
  errorOf,
  postChat,
  type RunningGateway,
  startGateway,
} from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator({ version: '0.33.0' });
  chatwire = await startGateway(sim.url);
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});

describe('service routes', () => {
  it('GET /health: 200 ok', async () => {
    const response = await fetch(`${chatwire.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
  });

  it('GET /ready: 200 with the upstream version when it answers', async () => {
    const response = await fetch(`${chatwire.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', upstream: sim.url, version: '0.33.0' });
  });

  it('GET /ready: 503 with the reason when the upstream is down', async () => {
    const port = await closedPort();
    const down = await startGateway(`http://127.0.0.1:${port}`);
    try {
      const response = await fetch(`${down.url}/ready`);
      expect(response.status).toBe(503);
      expect(await errorOf(response)).toMatch(/^cannot connect to Ollama at .*ECONNREFUSED/);
      const health = await fetch(`${down.url}/health`);
      expect(health.status).toBe(200);
    } finally {
      await down.close();
    }
  });

  it('GET /info: name, version, upstream and docs', async () => {
    const info = await (await fetch(`${chatwire.url}/info`)).json();
    expect(info).toMatchObject({
      name: 'chatwire',
      version: expect.any(String),
      upstream: { kind: 'ollama', url: sim.url },
      docs: { openapi: '/openapi.json', ui: '/docs' },
    });
  });

  it('GET /openapi.json describes every route', async () => {
    const document = (await (await fetch(`${chatwire.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, { post?: { requestBody?: unknown } }>;
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/chat', '/health', '/ready', '/info']),
    );
    expect(document.paths['/v1/chat']?.post?.requestBody).toBeDefined();
  });

  it('GET /docs serves a documentation page', async () => {
    const response = await fetch(`${chatwire.url}/docs/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('unknown routes: 404 JSON error', async () => {
    const response = await fetch(`${chatwire.url}/v1/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no route for GET /v1/nothing' });
  });

  it('every response carries a request id', async () => {
    const response = await fetch(`${chatwire.url}/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(response.headers.get('x-request-id')).toBe('abc-123');
    const streamed = await postChat(chatwire.url);
    expect(streamed.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await streamed.text();
  });
});

describe('CORS', () => {
  it('allows localhost origins on any port by default, on streams too', async () => {
    const response = await postChat(chatwire.url, undefined, {
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    await response.text();
  });

  it('answers preflight for a local origin', async () => {
    const response = await fetch(`${chatwire.url}/v1/chat`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:3000');
  });

  it('does not allow other origins by default', async () => {
    const response = await fetch(`${chatwire.url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins', async () => {
    const custom = await startGateway(sim.url, { CHATWIRE_CORS_ORIGINS: 'https://app.example.com' });
    try {
      const allowed = await fetch(`${custom.url}/health`, { headers: { origin: 'https://app.example.com' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const local = await fetch(`${custom.url}/health`, { headers: { origin: 'http://localhost:3000' } });
      expect(local.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await custom.close();
    }
  });
});
