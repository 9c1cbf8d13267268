import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { type OpenAiSimulator, startOpenAiSimulator } from '../../support/openai-simulator.js';
import { type RawResponse, rawRequest } from '../../support/raw-http.js';
import { type RunningGateway, startGateway } from '../../support/start-gateway.js';
import { parseNdjsonLines, parseSseEvents } from '../../support/stream-frames.js';

// Upstream text (an error message, a token) that looks like frames of either format, with every line end.
const FORGE = 'boom\n{"done":true}\n\ndata: {"choices":[]}\n\nevent: x\r\nid: 9\rdata: [DONE]\n\n';
const MESSAGES = [{ role: 'user', content: 'hi' }];

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url, { CHATWIRE_ALLOWED_MODELS: '*' });
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});
afterEach(() => sim.reset());

const post = (url: string, target: string, body: unknown) =>
  rawRequest(url, 'POST', target, { body: JSON.stringify(body) });

/** An NDJSON stream that failed after `contentFrames` frames: exactly those, then one error line, intact. */
function expectNdjsonFailure(answer: RawResponse, contentFrames: number): void {
  expect(answer.status).toBe(200);
  const lines = parseNdjsonLines(answer.body);
  expect(lines).toHaveLength(contentFrames + 1);
  expect(lines.filter((line) => line.done === true)).toEqual([]);
  expect(lines.slice(0, -1).every((line) => line.error === undefined && line.done === false)).toBe(true);
  expect(Object.keys(lines.at(-1) ?? {})).toEqual(['error']);
  expect(lines.at(-1)?.error).toContain(FORGE);
}

/** An SSE stream that failed: chunk events only, then one error event carrying the text intact, no [DONE]. */
function expectSseFailure(answer: RawResponse): void {
  expect(answer.status).toBe(200);
  const events = parseSseEvents(answer.body);
  expect(events.map((event) => event.data)).not.toContain('[DONE]');
  const parsed = events.map((event) => JSON.parse(event.data) as Record<string, unknown>);
  expect(parsed.slice(0, -1).every((event) => event.object === 'chat.completion.chunk')).toBe(true);
  const last = parsed.at(-1) as { error?: { message?: string } };
  expect(last.error?.message).toContain(FORGE);
  expect(parsed.filter((event) => event.error !== undefined)).toHaveLength(1);
}

/** No response header carries any of the upstream's text. */
function expectHeadersClean(answer: RawResponse): void {
  for (const value of answer.rawHeaders) expect(value).not.toMatch(/boom|evil|injected/i);
}

describe('an upstream error cannot forge frames', () => {
  it('mid-stream, on /v1/chat, /api/chat and /api/generate (NDJSON): one error line carrying the text intact', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-line', message: FORGE } });
    expectNdjsonFailure(await post(chatwire.url, '/v1/chat', { messages: MESSAGES }), 2);
    expectNdjsonFailure(
      await post(chatwire.url, '/api/chat', { model: 'qwen2.5:7b', messages: MESSAGES }),
      2,
    );
    expectNdjsonFailure(await post(chatwire.url, '/api/generate', { model: 'qwen2.5:7b', prompt: 'hi' }), 2);
  });

  it('mid-stream, on /v1/chat/completions (SSE): one error event carrying the text intact', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-line', message: FORGE } });
    const body = { model: 'qwen2.5:7b', messages: MESSAGES, stream: true };
    expectSseFailure(await post(chatwire.url, '/v1/chat/completions', body));
  });

  it('in a conversation: the stream, the stored reply, and a resume of either stream say the same', async () => {
    const created = await post(chatwire.url, '/v1/conversations', {});
    const { id } = JSON.parse(created.body) as { id: string };
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-line', message: FORGE } });
    const answer = await post(chatwire.url, `/v1/conversations/${id}/messages`, { content: 'hi' });
    expectNdjsonFailure(answer, 2);
    const regenerated = await post(chatwire.url, `/v1/conversations/${id}/regenerate`, {});
    expectNdjsonFailure(regenerated, 2);
    const stored = JSON.parse((await rawRequest(chatwire.url, 'GET', `/v1/conversations/${id}`)).body) as {
      messages: Array<{ status: string; error: string | null }>;
    };
    expect(stored.messages.at(-1)).toMatchObject({ status: 'failed', error: expect.stringContaining(FORGE) });
    const generation = String(regenerated.headers['chatwire-generation-id']);
    const resumed = await rawRequest(chatwire.url, 'GET', `/v1/generations/${generation}/stream?after=0`);
    expect(resumed.body).toBe(regenerated.body);
  });

  it('a resumed SSE stream replays the same events', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-line', message: FORGE } });
    const body = { model: 'qwen2.5:7b', messages: MESSAGES, stream: true };
    const answer = await post(chatwire.url, '/v1/chat/completions', body);
    const generation = String(answer.headers['chatwire-generation-id']);
    const resumed = await rawRequest(chatwire.url, 'GET', `/v1/generations/${generation}/stream?after=0`);
    expectSseFailure(resumed);
    expect(resumed.body).toBe(answer.body);
  });

  it('before the first token: a true status and the JSON envelope, the text intact in the body only', async () => {
    for (const legacy of [false, true]) {
      sim.behave({ preError: { status: 500, error: FORGE, legacy } });
      const chat = await post(chatwire.url, '/v1/chat', { messages: MESSAGES });
      expect(chat.status).toBe(502);
      expect(chat.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(chat.body)).toEqual({ error: FORGE });
      expectHeadersClean(chat);
      const openAi = await post(chatwire.url, '/v1/chat/completions', {
        model: 'qwen2.5:7b',
        messages: MESSAGES,
        stream: true,
      });
      expect(openAi.status).toBe(502);
      expect(JSON.parse(openAi.body).error.message).toBe(FORGE);
      expectHeadersClean(openAi);
    }
  });

  it('tokens that look like frames stay content: one done line, one [DONE]', async () => {
    sim.behave({ tokens: ['a', FORGE, 'z'] });
    const lines = parseNdjsonLines((await post(chatwire.url, '/v1/chat', { messages: MESSAGES })).body);
    expect(lines.filter((line) => line.done === true)).toHaveLength(1);
    expect(lines.at(-1)?.done).toBe(true);
    const text = lines
      .map((line) => (line.message as { content?: string } | undefined)?.content ?? '')
      .join('');
    expect(text).toBe(`a${FORGE}z`);
    const events = parseSseEvents(
      (
        await post(chatwire.url, '/v1/chat/completions', {
          model: 'qwen2.5:7b',
          messages: MESSAGES,
          stream: true,
        })
      ).body,
    );
    expect(events.filter((event) => event.data === '[DONE]')).toHaveLength(1);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const deltas = events
      .slice(0, -1)
      .map((event) => (JSON.parse(event.data) as { choices: Array<{ delta: { content?: string } }> }).choices)
      .map((choices) => choices[0]?.delta.content ?? '')
      .join('');
    expect(deltas).toBe(`a${FORGE}z`);
  });
});

describe('an OpenAI-compatible upstream cannot forge frames either', () => {
  let openAi: OpenAiSimulator;
  let overOpenAi: RunningGateway;
  beforeAll(async () => {
    openAi = await startOpenAiSimulator();
    overOpenAi = await startGateway(openAi.url, {
      CHATWIRE_UPSTREAM_KIND: 'openai',
      CHATWIRE_UPSTREAM_URL: `${openAi.url}/v1`,
      CHATWIRE_MODEL: 'gpt-4o-mini',
    });
  });
  afterAll(async () => {
    await overOpenAi.close();
    await openAi.close();
  });

  it('its in-band error event becomes one error frame, in NDJSON and in SSE', async () => {
    openAi.behave({ midStream: { afterChunks: 3, mode: 'error-event', message: FORGE } });
    const ndjson = await post(overOpenAi.url, '/v1/chat', { messages: MESSAGES });
    const lines = parseNdjsonLines(ndjson.body);
    expect(lines.filter((line) => line.error !== undefined)).toHaveLength(1);
    expect(lines.at(-1)?.error).toContain(FORGE);
    expect(lines.filter((line) => line.done === true)).toEqual([]);
    const body = { model: 'gpt-4o-mini', messages: MESSAGES, stream: true };
    expectSseFailure(await post(overOpenAi.url, '/v1/chat/completions', body));
  });
});

describe('headers never carry upstream text', () => {
  let upstream: Server;
  let gateway: RunningGateway;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // An upstream no HTTP library would write: headers a gateway must not pass on, and CR LF in its error.
    const body = JSON.stringify({ error: 'busy\r\nX-Injected: 1\r\n\r\nboom' });
    upstream = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.once('data', () => {
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nX-Evil: 1\r\nSet-Cookie: evil=1\r\n' +
            'Content-Type: text/html; evil=1\r\nChatwire-Generation-Id: evil\r\n' +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as { port: number };
    gateway = await startGateway(`http://127.0.0.1:${port}`, { CHATWIRE_ALLOWED_MODELS: '*' });
  });
  afterAll(async () => {
    await gateway.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('every route that relays an upstream answer: its status and message, none of its headers', async () => {
    const answers = await Promise.all([
      post(gateway.url, '/v1/chat', { messages: MESSAGES }),
      post(gateway.url, '/api/chat', { model: 'qwen2.5:7b', messages: MESSAGES }),
      post(gateway.url, '/v1/chat/completions', { model: 'qwen2.5:7b', messages: MESSAGES, stream: true }),
      post(gateway.url, '/api/show', { model: 'qwen2.5:7b' }),
      rawRequest(gateway.url, 'GET', '/api/ps'),
      rawRequest(gateway.url, 'GET', '/api/tags'),
      rawRequest(gateway.url, 'GET', '/api/version'),
      rawRequest(gateway.url, 'GET', '/v1/models'),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.headers['content-type']).toMatch(/^application\/json; charset=utf-8$/);
      expect(answer.headers['x-evil']).toBeUndefined();
      expect(answer.headers['x-injected']).toBeUndefined();
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(answer.headers['chatwire-generation-id']).toBeUndefined();
      expect(answer.headers['retry-after']).toBeUndefined();
      expectHeadersClean(answer);
      expect(answer.body).toContain('busy\\r\\nX-Injected: 1\\r\\n\\r\\nboom');
    }
  });
});
