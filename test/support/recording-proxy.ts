import { createServer, request } from 'node:http';

export interface ProxiedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

/**
 * An HTTP proxy in front of a gateway that records what clients send (method, path, Authorization) and can
 * answer 404 for some paths, as a gateway without those routes would. Streams pass through as they come, and
 * a client that leaves closes the request to the gateway.
 */
export async function startRecordingProxy(target: string, options: { notFound?: RegExp } = {}) {
  const { hostname, port } = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    const path = incoming.url ?? '/';
    requests.push({ method: incoming.method ?? 'GET', path, authorization: incoming.headers.authorization });
    if (options.notFound?.test(path)) {
      const body = JSON.stringify({ error: `Route ${incoming.method}:${path} not found` });
      outgoing.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(body);
      return;
    }
    const forwarded = request(
      { host: hostname, port, method: incoming.method, path, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) forwarded.destroy();
    });
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
