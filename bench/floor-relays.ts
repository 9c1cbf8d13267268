// Two stand-ins for "the least a Node process between client and upstream can do", measured like chatwire
// (same CPU, same requests, same checks) so the report can tell the cost of an extra process hop on this
// machine from the cost of chatwire's own work:
//
//   tcp   copies bytes between the client's socket and one upstream socket per connection. Nothing that
//         relays through a Node process can do less: one read and one write per upstream packet.
//   http  a minimal HTTP relay: node:http in, an undici keep-alive pool out, the body streamed back as it
//         arrives. No validation, no persona, no parsing of the stream, no timeouts.
//
// Both take the direct target's requests (POST /api/chat) unchanged, so replies are byte-identical.
// Started as: node --import tsx bench/floor-relays.ts <tcp|http> <upstream origin>; prints {"port":N}.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { Agent, request } from 'undici';

// As chatwire's: a cold burst of 1,000 clients must not overflow the accept queue.
const LISTEN_BACKLOG = 4096;

const [mode, origin] = process.argv.slice(2);
if ((mode !== 'tcp' && mode !== 'http') || origin === undefined) {
  throw new Error('usage: floor-relays.ts <tcp|http> <upstream origin>');
}
const upstream = new URL(origin);
const server = mode === 'tcp' ? tcpHop() : httpRelay();
server.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));

function tcpHop(): Server {
  return createTcpServer({ noDelay: true }, (client: Socket) => {
    const toUpstream = connect({ host: upstream.hostname, port: Number(upstream.port), noDelay: true });
    client.pipe(toUpstream);
    toUpstream.pipe(client);
    // Either side closing closes the other: a client that leaves aborts the upstream stream.
    const closeBoth = () => {
      client.destroy();
      toUpstream.destroy();
    };
    client.once('close', closeBoth);
    toUpstream.once('close', closeBoth);
    client.on('error', () => {});
    toUpstream.on('error', () => {});
  });
}

function httpRelay(): Server {
  const pool = new Agent({ connections: null, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  return createHttpServer((incoming: IncomingMessage, response: ServerResponse) => {
    void relay(pool, incoming, response);
  });
}

async function relay(pool: Agent, incoming: IncomingMessage, response: ServerResponse): Promise<void> {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  try {
    const parts: Buffer[] = [];
    for await (const part of incoming) parts.push(part as Buffer);
    const answer = await request(new URL(incoming.url ?? '/', upstream), {
      dispatcher: pool,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat(parts),
      signal: controller.signal,
    });
    response.writeHead(answer.statusCode, { 'content-type': 'application/x-ndjson' });
    for await (const part of answer.body) {
      if (!response.write(part)) await once(response, 'drain');
    }
    response.end();
  } catch {
    response.destroy();
  }
}
