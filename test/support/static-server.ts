import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/**
 * Serves files on 127.0.0.1: `routes` maps a URL path to a file, anything else is looked up under `dir`.
 * Pages it serves have their own origin, so a gateway on another port is a cross-origin (CORS) call for them.
 */
export async function startStaticServer(dir: string, routes: Record<string, string> = {}) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://static').pathname;
    const file = routes[path] ?? join(dir, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
