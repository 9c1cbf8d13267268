import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
}

/**
 * Every route the running app answers, read from Fastify's own route tree, so a route added later shows up
 * in the tests that iterate over routes (and fails them until they say what the route must do).
 * HEAD twins of GET routes and the CORS plugin's `OPTIONS *` are left out: they are not routes of chatwire's.
 */
export function routesOf(app: FastifyInstance): RouteEntry[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const url = (prefixes[depth - 1] ?? '') + (match[2] ?? '');
    prefixes[depth] = url;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ')) {
      if (method === '' || method === 'HEAD' || (method === 'OPTIONS' && url === '*')) continue;
      routes.push({ method, url: registeredUrl(app, method, url) });
    }
  }
  return routes.sort((a, b) => `${a.url} ${a.method}`.localeCompare(`${b.url} ${b.method}`));
}

/** The tree prints a wildcard under a static segment without the slash between them (`/v1/models*`). */
function registeredUrl(app: FastifyInstance, method: string, url: string): string {
  if (app.hasRoute({ method: method as 'GET', url })) return url;
  const slashed = url.replace(/\*$/, '/*');
  return app.hasRoute({ method: method as 'GET', url: slashed }) ? slashed : url;
}

/** `METHOD url`, the key the route tables of the security tests use. */
export function routeKey(route: RouteEntry): string {
  return `${route.method} ${route.url}`;
}
