import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';

/**
 * An HTTP proxy that drops a connection the way a network change does, chosen by request rather than by
 * connection (a browser pools its connections): the answer to the first request `cut` picks is passed on
 * for `afterBytes` bytes of its body, then the client's socket is destroyed. Everything else passes.
 */
export async function startCuttingHttpProxy(
  target: string,
  options: { cut: (request: IncomingMessage) => boolean; afterBytes: number },
) {
  let cuts = 0;
  const server: Server = createServer((incoming, outgoing) => {
    const { hostname, port } = new URL(target);
    const cutThis = cuts === 0 && options.cut(incoming);
    if (cutThis) cuts += 1;
    const forwarded = httpRequest(
      { hostname, port, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        let passed = 0;
        answer.on('data', (data: Buffer) => {
          if (!cutThis) {
            outgoing.write(data);
            return;
          }
          const room = options.afterBytes - passed;
          passed += data.length;
          if (room > 0) outgoing.write(data.subarray(0, room));
          if (passed >= options.afterBytes) {
            outgoing.socket?.destroy();
            answer.destroy();
          }
        });
        answer.on('end', () => outgoing.end());
      },
    );
    forwarded.on('error', () => outgoing.socket?.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get cuts() {
      return cuts;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
