import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy that delivers the server's bytes in small pieces, a millisecond apart, the way a buffering
 * proxy or a congested network splits a stream: a client behind it sees JSON lines and UTF-8 characters
 * cut across its reads.
 */
export async function startRechunkingProxy(target: string, pieceBytes: number) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    client.setNoDelay(true);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let queue = Promise.resolve();
    upstream.on('data', (data: Buffer) => {
      for (let offset = 0; offset < data.length; offset += pieceBytes) {
        const piece = data.subarray(offset, offset + pieceBytes);
        queue = queue.then(
          () =>
            new Promise<void>((resolve) => {
              client.write(piece);
              setTimeout(resolve, 1);
            }),
        );
      }
    });
    upstream.on('end', () => {
      queue = queue.then(() => {
        client.end();
      });
    });
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroyBoth).on('close', destroyBoth);
    upstream.on('error', destroyBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
