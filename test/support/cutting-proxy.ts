import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy that cuts connections the way a network change does: the n-th connection (from 1) is
 * destroyed, both ways, once `cuts[n]` bytes of the server's answer have passed; connections without an
 * entry pass untouched. `connections` counts them, so a test sees whether the client came back.
 */
export async function startCuttingProxy(target: string, cuts: Record<number, number>) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    const number = ++connections;
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    const cutAt = cuts[number];
    let passed = 0;
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('data', (data: Buffer) => {
      if (cutAt === undefined) {
        client.write(data);
        return;
      }
      const room = cutAt - passed;
      passed += data.length;
      if (room > 0) client.write(data.subarray(0, room));
      if (passed >= cutAt) client.end(destroyBoth);
    });
    upstream.on('end', () => client.end());
    client.on('error', destroyBoth).on('close', destroyBoth);
    upstream.on('error', destroyBoth).on('close', destroyBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
