// Raw-socket attackers for the abuse tests: clients that trickle, idle, or never read, and what they saw.
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { chatBody } from './start-gateway.js';

/** One attacker connection: every byte the gateway sent it, and when (performance.now()) it was closed. */
export interface RawClient {
  socket: Socket;
  openedAt: number;
  /** Undefined while the connection is open. */
  closedAt: number | undefined;
  /** Everything received, as text. */
  received(): string;
  closed: Promise<void>;
}

export function rawConnect(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let markClosed = () => {};
    const client: RawClient = {
      socket,
      openedAt: performance.now(),
      closedAt: undefined,
      received: () => Buffer.concat(chunks).toString('utf8'),
      closed: new Promise((done) => {
        markClosed = done;
      }),
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset is one way of being closed; the test looks at what arrived before it.
    socket.on('error', () => {});
    socket.once('close', () => {
      client.closedAt = performance.now();
      markClosed();
    });
    socket.once('connect', () => {
      client.openedAt = performance.now();
      socket.off('error', reject);
      resolve(client);
    });
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until it is all sent or the gateway closes the connection. */
export function trickle(client: RawClient, text: string, everyMs: number): void {
  let next = 0;
  const timer = setInterval(() => {
    if (client.closedAt !== undefined || next >= text.length) {
      clearInterval(timer);
      return;
    }
    client.socket.write(text[next++] as string);
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
}

/**
 * Keeps `size` attacker connections going: each one the gateway closes is replaced, as a real slowloris
 * does. `first` is the first wave, for the bound's figures; `stop()` ends the attack and closes them all.
 */
export async function sustainedAttack(size: number, open: () => Promise<RawClient>) {
  const live = new Set<RawClient>();
  let stopped = false;
  let replaced = 0;
  const start = async (): Promise<RawClient> => {
    const client = await open();
    live.add(client);
    void client.closed.then(() => {
      live.delete(client);
      if (stopped) return;
      replaced++;
      start().catch(() => {});
    });
    return client;
  };
  const first = await Promise.all(Array.from({ length: size }, start));
  return {
    first,
    replaced: () => replaced,
    async stop() {
      stopped = true;
      for (const client of live) client.socket.destroy();
      await Promise.all(first.map((client) => client.closed));
    },
  };
}

/** Opens `count` connections that never send a byte, `batch` at a time so the accept queue keeps up. */
export async function openIdle(url: string, count: number, batch = 250): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  while (clients.length < count) {
    const wave = Math.min(batch, count - clients.length);
    clients.push(...(await Promise.all(Array.from({ length: wave }, () => rawConnect(url)))));
  }
  return clients;
}

/** A complete streaming chat request as raw HTTP/1.1, for a client that then does something odd. */
export function rawChatRequest(headers: Record<string, string> = {}, path = '/v1/chat'): string {
  const body = chatBody();
  const lines = Object.entries({
    host: '127.0.0.1',
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n${body}`;
}

/** The status and JSON body of an HTTP response a raw client received (one response, Content-Length framed). */
export function parseRawResponse(text: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
  const rest = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: rest === '' ? undefined : JSON.parse(rest) };
}

/**
 * A normal client's time to first token: from sending a streaming chat request to the first body bytes (the
 * gateway holds the status until the first upstream chunk). The rest is read to the end, as a client does.
 */
export async function timeToFirstToken(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  if (response.status !== 200) throw new Error(`normal client got ${response.status}`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  const ttft = performance.now() - started;
  if (first.done) throw new Error('normal client got an empty stream');
  let text = new TextDecoder().decode(first.value);
  for (let read = await reader.read(); !read.done; read = await reader.read())
    text += new TextDecoder().decode(read.value);
  if (!text.includes('"done":true')) throw new Error(`normal client's stream did not finish: ${text}`);
  return ttft;
}

/** The median of `count` normal clients' times to first token, one after another. */
export async function medianTimeToFirstToken(url: string, count = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await timeToFirstToken(url));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/**
 * Calls `seen` with the gateway's own end of each new connection and the client port it serves, so a test can
 * tell when chatwire closed a connection whose client is not reading (and so cannot see the close yet).
 */
export function watchServerSockets(server: Server): Map<number, { closedAt: number | undefined }> {
  const sockets = new Map<number, { closedAt: number | undefined }>();
  server.on('connection', (socket: Socket) => {
    const entry: { closedAt: number | undefined } = { closedAt: undefined };
    sockets.set(socket.remotePort as number, entry);
    socket.once('close', () => {
      entry.closedAt = performance.now();
    });
  });
  return sockets;
}

/** The gateway's open client connections, as Node counts them. */
export function openConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}
