import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type KeysFixture, startWithKeys } from '../../support/keys-fixture.js';
import { rawRequest } from '../../support/raw-http.js';
import { type RouteEntry, routeKey, routesOf } from '../../support/route-table.js';

// The router decodes percent-escapes before it matches (`/%761/chat` is `/v1/chat`), so whatever decides
// about a route must decide on the route matched, not on the URL as spelled.
let fixture: KeysFixture & { keys: Record<string, string> };
let protectedRoutes: RouteEntry[];

beforeAll(async () => {
  fixture = await startWithKeys([{ name: 'user' }], { CHATWIRE_METRICS_REQUIRE_KEY: 'true' });
  protectedRoutes = routesOf(fixture.chatwire.gateway.app).filter((route) =>
    /^\/(v1|api|metrics)(\/|$)/.test(route.url),
  );
});
afterAll(() => fixture.close());

/** The route's path, filled in, in spellings that decode to it: its first letter escaped, and every letter. */
function spellings(route: RouteEntry): string[] {
  const path = route.url.replace(':id', 'some-id').replace('*', 'some-model');
  const percent = (char: string) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`;
  return [
    `/${percent(path[1] ?? '')}${path.slice(2)}`,
    [...path].map((char) => (/[a-z0-9]/i.test(char) ? percent(char) : char)).join(''),
  ];
}

describe('percent-encoded paths', () => {
  it('covers every route under /v1, /api and /metrics', () => {
    expect(protectedRoutes.map(routeKey)).toEqual(
      expect.arrayContaining(['POST /v1/chat', 'GET /v1/conversations', 'GET /api/tags', 'GET /metrics']),
    );
  });

  it('need the key just like the plain spelling: 401 without one, never the route', async () => {
    const leaks: string[] = [];
    for (const route of protectedRoutes) {
      for (const target of spellings(route)) {
        const body = ['POST', 'PATCH'].includes(route.method) ? '{}' : undefined;
        const answer = await rawRequest(fixture.chatwire.url, route.method, target, {
          ...(body !== undefined && { body }),
        });
        // 404 is fine (a spelling the router does not decode); anything else but 401 reached the route.
        if (answer.status !== 401 && answer.status !== 404)
          leaks.push(`${route.method} ${target} → ${answer.status}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('with the key, the escaped spelling reaches the route as the plain one does', async () => {
    const answer = await rawRequest(fixture.chatwire.url, 'GET', '/%761/conversations', {
      headers: bearer(fixture.keys.user ?? ''),
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ conversations: [], next_cursor: null });
  });
});
