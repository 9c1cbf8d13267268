import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type KeysFixture, startWithKeys } from '../../support/keys-fixture.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { until } from '../../support/pool-fixture.js';
import { type RawResponse, rawRequest } from '../../support/raw-http.js';
import { type RouteEntry, routeKey, routesOf } from '../../support/route-table.js';
import { type RunningGateway, startGateway } from '../../support/start-gateway.js';

// For every route the app has (read from the app itself, so a new route is covered without a new test): the
// actual request and its preflight answer as configured, and errors carry the headers, so a page can read them.
const APP = 'http://app.example:5173';
const LOCAL = 'http://localhost:3000';
const EVIL = 'http://evil.example';

/** The route with its parameters filled in; a body where it takes one (an invalid one is fine: 400 still counts). */
function requestFor(route: RouteEntry): { target: string; body?: string } {
  const target = route.url.replace(':id', 'some-id').replace('*', 'some-model');
  return ['POST', 'PATCH'].includes(route.method) ? { target, body: '{}' } : { target };
}

async function actual(url: string, route: RouteEntry, headers: Record<string, string>): Promise<RawResponse> {
  const { target, body } = requestFor(route);
  return rawRequest(url, route.method, target, { headers, ...(body !== undefined && { body }) });
}

function preflight(url: string, route: RouteEntry, origin: string): Promise<RawResponse> {
  return rawRequest(url, 'OPTIONS', requestFor(route).target, {
    headers: {
      origin,
      'access-control-request-method': route.method,
      'access-control-request-headers': 'authorization, content-type, chatwire-on-disconnect',
    },
  });
}

function expectAllowed(response: RawResponse, origin: string, credentials: boolean): void {
  expect(response.headers['access-control-allow-origin']).toBe(origin);
  if (credentials) {
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(String(response.headers.vary)).toMatch(/\bOrigin\b/i);
  } else {
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
  }
}

function expectPreflightAllowed(
  response: RawResponse,
  route: RouteEntry,
  origin: string,
  credentials: boolean,
) {
  expect(response.status).toBe(204);
  expectAllowed(response, origin, credentials);
  expect(
    String(response.headers['access-control-allow-methods'])
      .split(',')
      .map((method) => method.trim()),
  ).toContain(route.method);
  expect(String(response.headers['access-control-allow-headers'])).toContain('authorization');
}

/** Each route with what it answered, for a failure message that names the route. */
async function forEveryRoute(
  routes: RouteEntry[],
  check: (route: RouteEntry) => Promise<void>,
): Promise<void> {
  for (const route of routes) {
    try {
      await check(route);
    } catch (error) {
      throw new Error(`${routeKey(route)}: ${(error as Error).message}`);
    }
  }
}

describe('CORS with explicit origins and auth on', () => {
  let fixture: KeysFixture & { keys: Record<string, string> };
  let routes: RouteEntry[];

  beforeAll(async () => {
    fixture = await startWithKeys([{ name: 'app' }], {
      CHATWIRE_CORS_ORIGINS: APP,
      CHATWIRE_BODY_LIMIT_BYTES: '2048',
    });
    routes = routesOf(fixture.chatwire.gateway.app);
  });
  afterAll(() => fixture.close());

  it('lists the routes it checks', () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes.map(routeKey)).toContain('PATCH /v1/conversations/:id');
  });

  it('every route: an allowed origin gets Access-Control-Allow-Origin with credentials, and Vary: Origin', async () => {
    await forEveryRoute(routes, async (route) => {
      const response = await actual(fixture.chatwire.url, route, {
        origin: APP,
        ...bearer(fixture.keys.app ?? ''),
      });
      expect(response.status).toBeLessThan(500);
      expectAllowed(response, APP, true);
    });
  });

  it('every route: its preflight, which carries no key, is answered for an allowed origin', async () => {
    await forEveryRoute(routes, async (route) => {
      expectPreflightAllowed(await preflight(fixture.chatwire.url, route, APP), route, APP, true);
    });
  });

  it('every route: a disallowed origin gets no Access-Control-Allow-Origin, on the request or its preflight', async () => {
    await forEveryRoute(routes, async (route) => {
      const response = await actual(fixture.chatwire.url, route, {
        origin: EVIL,
        ...bearer(fixture.keys.app ?? ''),
      });
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      const answered = await preflight(fixture.chatwire.url, route, EVIL);
      expect(answered.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  it('errors a page must be able to read carry the headers: 401, 404, 413, 429, 503 (with Retry-After exposed)', async () => {
    const { url } = fixture.chatwire;
    const key = bearer(fixture.keys.app ?? '');
    const limited = bearer(await fixture.createKey('limited', { limits: { rpm: 1 } }));
    const chat = (headers: Record<string, string>, content = 'hi') =>
      rawRequest(url, 'POST', '/v1/chat', {
        headers: { origin: APP, ...headers },
        body: JSON.stringify({ messages: [{ role: 'user', content }] }),
      });
    // The key is known once the gateway's next read of the keys has it; that first request uses its minute.
    await until('the limited key is known', async () => (await chat(limited)).status !== 401);
    fixture.sim.behave({ preError: { status: 503, error: 'server busy, please try again' } });
    const answers = {
      401: await chat({}),
      404: await rawRequest(url, 'GET', '/v1/no-such-route', { headers: { origin: APP, ...key } }),
      413: await chat(key, 'x'.repeat(4096)),
      429: await chat(limited),
      503: await chat(key),
    };
    fixture.sim.reset();
    for (const [status, response] of Object.entries(answers)) {
      expect(response.status, status).toBe(Number(status));
      expectAllowed(response, APP, true);
      expect(JSON.parse(response.body).error, status).toEqual(expect.any(String));
    }
    const exposed = String(answers[429].headers['access-control-expose-headers'])
      .split(',')
      .map((name) => name.trim());
    expect(exposed).toEqual(
      expect.arrayContaining(['retry-after', 'chatwire-generation-id', 'x-request-id']),
    );
    expect(answers[429].headers['retry-after']).toMatch(/^\d+$/);
  });

  it('a streamed reply carries them too, with its generation id exposed', async () => {
    const response = await rawRequest(fixture.chatwire.url, 'POST', '/v1/chat', {
      headers: { origin: APP, ...bearer(fixture.keys.app ?? '') },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expectAllowed(response, APP, true);
    expect(response.headers['chatwire-generation-id']).toEqual(expect.any(String));
    expect(String(response.headers['access-control-expose-headers'])).toContain('chatwire-generation-id');
  });
});

describe('CORS with CHATWIRE_CORS_ORIGINS=* and by default', () => {
  let sim: OllamaSimulator;
  beforeAll(async () => {
    sim = await startOllamaSimulator();
  });
  afterAll(() => sim.close());

  it('*: every route and preflight answers * without credentials', async () => {
    const chatwire: RunningGateway = await startGateway(sim.url, { CHATWIRE_CORS_ORIGINS: '*' });
    try {
      await forEveryRoute(routesOf(chatwire.gateway.app), async (route) => {
        expectAllowed(await actual(chatwire.url, route, { origin: EVIL }), '*', false);
        expectPreflightAllowed(await preflight(chatwire.url, route, EVIL), route, '*', false);
      });
    } finally {
      await chatwire.close();
    }
  });

  it('default: localhost origins are allowed on every route, any other origin is not', async () => {
    const chatwire = await startGateway(sim.url);
    try {
      await forEveryRoute(routesOf(chatwire.gateway.app), async (route) => {
        expectAllowed(await actual(chatwire.url, route, { origin: LOCAL }), LOCAL, true);
        expectPreflightAllowed(await preflight(chatwire.url, route, LOCAL), route, LOCAL, true);
        const refused = await actual(chatwire.url, route, { origin: APP });
        expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      });
    } finally {
      await chatwire.close();
    }
  });
});
