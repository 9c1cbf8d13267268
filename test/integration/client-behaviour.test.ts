import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { chatBody, postChat, type RunningGateway, startGateway } from '../support/start-gateway.js';
import { startTestUpstream, type TestUpstream, type UpstreamKind } from '../support/test-upstreams.js';

describe.each<UpstreamKind>(['ollama', 'openai'])('a client that disconnects, over a %s upstream', (kind) => {
  let upstream: TestUpstream;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    upstream = await startTestUpstream(kind);
    chatwire = await startGateway('127.0.0.1:1', upstream.env);
  });
  afterAll(async () => {
    await chatwire.close();
    await upstream.close();
  });

  it('mid-stream: the upstream request is aborted within 100 ms', async () => {
    upstream.behave({ tokens: Array.from({ length: 500 }, (_, i) => `t${i} `), tokenDelayMs: 10 });
    const controller = new AbortController();
    const response = await postChat(chatwire.url, undefined, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const leftAt = performance.now();
    controller.abort();
    const abort = await upstream.nextAbort();
    expect(abort.phase).toBe('stream');
    expect(abort.at - leftAt).toBeLessThan(100);
    await vi.waitFor(() => expect(chatwire.gateway.activeCalls.size).toBe(0));
  });
});

describe('client disconnects', () => {
  let sim: OllamaSimulator;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
    chatwire = await startGateway(sim.url);
  });
  afterAll(async () => {
    await chatwire.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  it('while the model loads: the upstream request is aborted within 100 ms', async () => {
    sim.behave({ loadDelayMs: 30_000 });
    const controller = new AbortController();
    const pending = postChat(chatwire.url, undefined, { signal: controller.signal }).catch((error) => error);
    await sim.nextRequest();
    const leftAt = performance.now();
    controller.abort();
    const abort = await sim.nextAbort();
    expect(abort.phase).toBe('load');
    expect(abort.at - leftAt).toBeLessThan(100);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('with stream:false: the upstream request is aborted too', async () => {
    sim.behave({ tokens: Array.from({ length: 500 }, (_, i) => `t${i} `), tokenDelayMs: 10 });
    const controller = new AbortController();
    const pending = postChat(chatwire.url, { stream: false }, { signal: controller.signal }).catch(
      (error) => error,
    );
    await sim.nextRequest();
    const leftAt = performance.now();
    controller.abort();
    const abort = await sim.nextAbort();
    expect(abort.at - leftAt).toBeLessThan(100);
    expect(await pending).toBeInstanceOf(Error);
  });
});

function drainOrClose(response: NodeJS.WritableStream): Promise<'drain' | 'close'> {
  return new Promise((resolve) => {
    const settle = (event: 'drain' | 'close') => () => {
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(event);
    };
    const onDrain = settle('drain');
    const onClose = settle('close');
    response.on('drain', onDrain);
    response.on('close', onClose);
  });
}

/**
 * An upstream that streams as fast as the gateway takes its bytes and honours backpressure itself, so
 * whether it can finish shows whether the gateway kept reading for a client that did not.
 */
async function startFloodingUpstream(totalBytes: number) {
  const state = { written: 0, finished: false, waitingForDrainSince: undefined as number | undefined };
  const line = Buffer.from(
    `${JSON.stringify({ model: 'm', created_at: 't', message: { role: 'assistant', content: 'x'.repeat(65_000) }, done: false })}\n`,
  );
  const doneLine = Buffer.from(
    `${JSON.stringify({ model: 'm', created_at: 't', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' })}\n`,
  );
  const lines = Math.ceil(totalBytes / line.length);
  const server: Server = createServer(async (request, response) => {
    for await (const _ of request) {
    }
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (let i = 0; i < lines; i++) {
      state.written += line.length;
      if (!response.write(line)) {
        state.waitingForDrainSince = performance.now();
        const event = await drainOrClose(response);
        state.waitingForDrainSince = undefined;
        if (event === 'close') return;
      }
    }
    response.end(doneLine);
    state.finished = true;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    expectedBytes: lines * line.length + doneLine.length,
    server,
  };
}

describe('a client that reads slowly', () => {
  it('makes the gateway stop reading upstream (bounded memory), and still gets every byte', async () => {
    const total = 128 * 1024 * 1024;
    const upstream = await startFloodingUpstream(total);
    const chatwire = await startGateway(upstream.url, { CHATWIRE_IDLE_TIMEOUT_MS: '60000' });
    try {
      const { port } = new URL(chatwire.url);
      const request = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/v1/chat',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      request.end(chatBody());
      const [response] = (await once(request, 'response')) as [IncomingMessage];
      response.pause();
      // The upstream is blocked on a drain that does not come while the client is paused.
      await vi.waitFor(
        () => {
          const since = upstream.state.waitingForDrainSince;
          expect(upstream.state.finished).toBe(false);
          expect(since !== undefined && performance.now() - since > 300).toBe(true);
        },
        { timeout: 15_000, interval: 50 },
      );
      expect(upstream.state.written).toBeLessThan(total / 4);
      let received = 0;
      response.on('data', (data: Buffer) => {
        received += data.length;
      });
      response.resume();
      await once(response, 'end');
      expect(received).toBe(upstream.expectedBytes);
      expect(upstream.state.finished).toBe(true);
    } finally {
      await chatwire.close();
      upstream.server.closeAllConnections();
      upstream.server.close();
    }
  }, 30_000);
});
