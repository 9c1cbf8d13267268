import { createServer, type Socket } from 'node:net';

/** A loopback server that must never be reached: it counts every connection made to it, and answers none. */
export interface CanaryServer {
  port: number;
  /** 127.0.0.1:PORT */
  host: string;
  connections: number;
  close(): Promise<void>;
}

export async function startCanary(): Promise<CanaryServer> {
  const sockets = new Set<Socket>();
  const canary = { port: 0, host: '', connections: 0 } as CanaryServer;
  const server = createServer((socket) => {
    canary.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  canary.port = (server.address() as { port: number }).port;
  canary.host = `127.0.0.1:${canary.port}`;
  canary.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return canary;
}
