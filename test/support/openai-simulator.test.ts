import { type IncomingHttpHeaders, request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SseDecoder } from '../../src/protocol/sse/sse-decoder.js';
import { type OpenAiSimBehaviour, type OpenAiSimulator, startOpenAiSimulator } from './openai-simulator.js';
import { sseSplitPoints } from './openai-simulator-exchange.js';

let sim: OpenAiSimulator;

beforeAll(async () => {
  sim = await startOpenAiSimulator();
});
afterEach(() => sim.reset());
afterAll(() => sim.close());

const MODEL = 'gpt-4o-mini';
const CHAT = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true };
const CHUNK_ID = /^chatcmpl-[A-Za-z0-9]{24}$/;
const CALL_ID = /^call_[A-Za-z0-9]{24}$/;

type Chunk = {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{ index: number; delta: Record<string, unknown>; finish_reason: string | null }>;
  usage?: unknown;
};

function post(body: unknown, init: RequestInit = {}): Promise<Response> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: payload, ...init });
}

/** The data of each `data: …\n\n` frame; fails on any other framing, so tests also pin the exact bytes. */
function frames(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((frame) => {
      expect(frame).toMatch(/^data: [^\n]*$/);
      return frame.slice('data: '.length);
    });
}

/** The chunks of a complete stream, checking that it ends with [DONE] and that id and created never change. */
function chunks(text: string): Chunk[] {
  const data = frames(text);
  expect(data.at(-1)).toBe('[DONE]');
  const parsed = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk);
  for (const chunk of parsed) {
    expect(chunk).toMatchObject({ id: parsed[0]?.id, created: parsed[0]?.created, model: MODEL });
  }
  return parsed;
}

const deltas = (list: Chunk[]) => list.map((c) => c.choices[0]?.delta);

/** node:http exposes each chunk of the body as its own 'data' event, which fetch hides. */
function rawPost(body: unknown): Promise<{ status: number; headers: IncomingHttpHeaders; reads: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}/v1/chat/completions`, { method: 'POST' }, (res) => {
      const reads: Buffer[] = [];
      res.on('data', (chunk: Buffer) => reads.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, reads }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
  const decoder = new TextDecoder();
  let read = '';
  while (!read.includes(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    read += decoder.decode(value, { stream: true });
  }
  return read;
}

const withoutIds = (text: string) =>
  text.replace(/chatcmpl-[A-Za-z0-9]+/g, 'chatcmpl-X').replace(/"created":\d+/g, '"created":0');

describe('streaming /v1/chat/completions', () => {
  it('sends a role chunk, content chunks, a finish chunk and [DONE], one data event each', async () => {
    const res = await post(CHAT);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const text = await res.text();
    expect(Buffer.from(text)).toEqual(sim.sent[0]);
    const list = chunks(text);
    expect(list[0]?.id).toMatch(CHUNK_ID);
    for (const chunk of list) {
      expect(Object.keys(chunk)).toEqual(['id', 'object', 'created', 'model', 'choices']);
      expect(chunk.object).toBe('chat.completion.chunk');
    }
    expect(list.map((c) => c.choices)).toEqual([
      [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }],
      [{ index: 0, delta: { content: 'lo' }, finish_reason: null }],
      [{ index: 0, delta: { content: ' wor' }, finish_reason: null }],
      [{ index: 0, delta: { content: 'ld' }, finish_reason: null }],
      [{ index: 0, delta: {}, finish_reason: 'stop' }],
    ]);
    expect(sim.activeStreams()).toBe(0);
  });

  it('sends the headers before the first token, unlike Ollama', async () => {
    sim.behave({ promptDelayMs: 60_000 });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(sim.sent[0]?.length).toBe(0);
    controller.abort();
    expect(await sim.nextAbort()).toMatchObject({ path: '/v1/chat/completions', phase: 'load', status: 200 });
    expect(sim.activeStreams()).toBe(0);
  });

  it('stallBeforeFirstChunk: headers, then nothing until the client leaves', async () => {
    sim.behave({ stallBeforeFirstChunk: true });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(sim.activeStreams()).toBe(1);
    controller.abort();
    expect(await sim.nextAbort()).toMatchObject({ phase: 'load' });
    expect(sim.sent[0]?.length).toBe(0);
  });

  it('with stream_options.include_usage: usage null on chunks, then a usage chunk with no choices', async () => {
    const list = chunks(await (await post({ ...CHAT, stream_options: { include_usage: true } })).text());
    expect(list).toHaveLength(7);
    for (const chunk of list.slice(0, -1)) expect(chunk.usage).toBeNull();
    expect(list.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
    expect(Object.keys(list.at(-1) ?? {})).toEqual(['id', 'object', 'created', 'model', 'choices', 'usage']);
  });

  it('usageOnFinishChunk: usage rides on the finish chunk, like llama.cpp', async () => {
    const usage = { prompt_tokens: 10, completion_tokens: 2 };
    sim.behave({ usage, usageOnFinishChunk: true, finishReason: 'length' });
    const list = chunks(await (await post(CHAT)).text());
    expect(list).toHaveLength(6);
    expect(list.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
    expect(list.at(-1)).toMatchObject({
      choices: [{ delta: {}, finish_reason: 'length' }],
      usage: { ...usage, total_tokens: 12 },
    });

    const withChunk = chunks(await (await post({ ...CHAT, stream_options: { include_usage: true } })).text());
    expect(withChunk.map((c) => c.usage)).toEqual([
      null,
      null,
      null,
      null,
      null,
      { ...usage, total_tokens: 12 },
      { ...usage, total_tokens: 12 },
    ]);
  });

  it('sends reasoning, then content, then tool calls as OpenAI fragments', async () => {
    const weather = '{"city":"Paris","unit":"°C"}';
    sim.behave({
      reasoning: ['Let me ', 'think'],
      tokens: ['Sure'],
      toolCalls: [
        { name: 'get_weather', arguments: weather },
        { id: 'call_fixed', name: 'noop', arguments: '{}' },
      ],
    });
    const list = chunks(await (await post(CHAT)).text());
    const all = deltas(list);
    expect(all.slice(0, 4)).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'Let me ' },
      { reasoning_content: 'think' },
      { content: 'Sure' },
    ]);
    type Fragment = {
      index: number;
      id?: string;
      type?: string;
      function: { name?: string; arguments: string };
    };
    const fragments = all.slice(4, -1).map((d) => {
      expect(Object.keys(d ?? {})).toEqual(['tool_calls']);
      const calls = d?.tool_calls as Fragment[];
      expect(calls).toHaveLength(1);
      return calls[0] as Fragment;
    });
    const first = fragments.filter((f) => f.index === 0);
    expect(first[0]).toEqual({
      index: 0,
      id: expect.stringMatching(CALL_ID),
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(first.slice(1)).toHaveLength(3);
    for (const fragment of first.slice(1)) expect(Object.keys(fragment)).toEqual(['index', 'function']);
    expect(first.map((f) => f.function.arguments).join('')).toBe(weather);
    const second = fragments.filter((f) => f.index === 1);
    expect(second.map((f) => f.function)).toEqual([
      { name: 'noop', arguments: '' },
      { arguments: '{' },
      { arguments: '}' },
    ]);
    expect(second[0]?.id).toBe('call_fixed');
    expect(list.at(-1)?.choices).toEqual([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]);
  });
});

describe('not streamed (stream false or absent)', () => {
  it('answers one chat.completion object with usage', async () => {
    const { stream: _, ...noStream } = CHAT;
    const res = await post(noStream);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-length')).not.toBeNull();
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['id', 'object', 'created', 'model', 'choices', 'usage']);
    expect(body).toEqual({
      id: expect.stringMatching(CHUNK_ID),
      object: 'chat.completion',
      created: expect.any(Number),
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello world' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
  });

  it('merges reasoning and tool calls; content is null when there is only a tool call', async () => {
    sim.behave({
      tokens: [],
      reasoning: ['hm'],
      toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }],
    });
    const body = (await (await post({ ...CHAT, stream: false })).json()) as { choices: unknown[] };
    expect(body.choices).toEqual([
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          reasoning_content: 'hm',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        },
        finish_reason: 'tool_calls',
      },
    ]);
  });
});

describe('errors before the stream', () => {
  const envelope = (
    message: string,
    type: string,
    code: string | null = null,
    param: string | null = null,
  ) => ({
    error: { message, type, param, code },
  });

  it.each([
    [
      '{"model":',
      400,
      envelope('We could not parse the JSON body of your request.', 'invalid_request_error'),
    ],
    ['', 400, envelope('We could not parse the JSON body of your request.', 'invalid_request_error')],
    [
      JSON.stringify({ messages: CHAT.messages }),
      400,
      envelope('you must provide a model parameter', 'invalid_request_error'),
    ],
    [
      JSON.stringify({ model: MODEL }),
      400,
      envelope(
        "Missing required parameter: 'messages'.",
        'invalid_request_error',
        'missing_required_parameter',
        'messages',
      ),
    ],
    [
      JSON.stringify({ model: MODEL, messages: [] }),
      400,
      envelope(
        "Invalid 'messages': expected a non-empty array, but got an empty array.",
        'invalid_request_error',
        null,
        'messages',
      ),
    ],
    [
      JSON.stringify({ ...CHAT, model: 'gpt-5' }),
      404,
      envelope('The model `gpt-5` does not exist', 'invalid_request_error', 'model_not_found'),
    ],
  ])('%s → %i', async (body, status, expected) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual(expected);
    expect(sim.sent[0]?.toString()).toBe(text);
    expect((await sim.nextRequest()).rawBody).toBe(body);
  });

  it('answers preError with the real status and an OpenAI envelope', async () => {
    sim.behave({ preError: { status: 503, message: 'Loading model' } });
    const res = await post(CHAT);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe(
      '{"error":{"message":"Loading model","type":"server_error","param":null,"code":null}}',
    );

    sim.behave({
      preError: { status: 429, message: 'Slow down', type: 'requests', code: 'rate_limit_exceeded' },
    });
    const limited = await post(CHAT);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual(envelope('Slow down', 'requests', 'rate_limit_exceeded'));
  });

  it('requireApiKey: 401 without the right bearer token, on every route', async () => {
    sim.behave({ requireApiKey: 'sk-test' });
    const unauthorized = envelope('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key');
    const none = await post(CHAT);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(unauthorized);
    const wrong = await post(CHAT, { headers: { authorization: 'Bearer sk-other' } });
    expect(wrong.status).toBe(401);
    const models = await fetch(`${sim.url}/v1/models`);
    expect(models.status).toBe(401);
    expect(await models.json()).toEqual(unauthorized);
    const ok = await post(CHAT, { headers: { authorization: 'Bearer sk-test' } });
    expect(ok.status).toBe(200);
    chunks(await ok.text());
    expect(sim.requests[3]?.headers.authorization).toBe('Bearer sk-test');
  });
});

describe('mid-stream faults', () => {
  it('error-event: an in-band error event after N chunks, then the end, with no [DONE]', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-event', message: 'boom' } });
    const data = frames(await (await post(CHAT)).text());
    expect(data).toHaveLength(3);
    expect(JSON.parse(data[1] ?? '')).toMatchObject({ choices: [{ delta: { content: 'Hel' } }] });
    expect(data[2]).toBe('{"error":{"message":"boom","type":"server_error"}}');
  });

  it('destroy: the body fails after N chunks', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'destroy' } });
    const res = await post(CHAT);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(frames(sim.sent[0]?.toString() ?? '')).toHaveLength(1);
    expect(sim.aborts).toEqual([]);
  });

  it('end-without-done: a clean end with no finish chunk and no [DONE]', async () => {
    sim.behave({ midStream: { afterChunks: 3, mode: 'end-without-done' } });
    const data = frames(await (await post(CHAT)).text());
    expect(data).toHaveLength(3);
    expect(data.map((d) => (JSON.parse(d) as Chunk).choices[0]?.finish_reason)).toEqual([null, null, null]);
  });

  it('stall: nothing more until the client leaves, then an abort in the stream phase', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'stall' } });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    expect(await readUntil(reader, '"Hel"')).toContain('"role":"assistant"');
    expect(sim.activeStreams()).toBe(1);
    controller.abort();
    expect(await sim.nextAbort()).toMatchObject({ phase: 'stream', status: 200 });
    expect(sim.activeStreams()).toBe(0);
    expect(frames(sim.sent[0]?.toString() ?? '')).toHaveLength(2);
  });

  it('garbage: a data event that is not JSON, then the stream carries on', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'garbage' } });
    const data = frames(await (await post(CHAT)).text());
    expect(data[1]).toBe('not json');
    expect(data).toHaveLength(8);
    expect(data.at(-1)).toBe('[DONE]');
  });

  it('faults a non-streamed reply too', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-event', message: 'boom' } });
    const failed = await post({ ...CHAT, stream: false });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({
      error: { message: 'boom', type: 'server_error', param: null, code: null },
    });

    sim.behave({ midStream: { afterChunks: 2, mode: 'end-without-done' } });
    const cut = await post({ ...CHAT, stream: false });
    expect(cut.status).toBe(200);
    const text = await cut.text();
    expect(text).toMatch(/^\{"id":"chatcmpl-/);
    expect(() => JSON.parse(text)).toThrow();

    sim.behave({ midStream: { afterChunks: 0, mode: 'destroy' } });
    await expect(post({ ...CHAT, stream: false })).rejects.toThrow();
  });
});

describe('framing', () => {
  const tokens = ['héllo', '日本', '🙂', 'plain'];

  async function decodedData(behaviour: OpenAiSimBehaviour): Promise<{ reads: Buffer[]; data: string[] }> {
    sim.behave({ tokens, ...behaviour });
    const { reads } = await rawPost(CHAT);
    const decoder = new SseDecoder(1 << 16);
    const items = [...reads.flatMap((read) => decoder.push(read)), ...decoder.end()];
    return {
      reads,
      data: items.map((item) => {
        if (item.error) throw item.error;
        return withoutIds(item.data);
      }),
    };
  }

  it('every write mode and line ending decodes to the same events', async () => {
    const reference = await decodedData({});
    expect(reference.data).toHaveLength(7);
    for (const writeMode of ['event', 'split', 'coalesced'] as const) {
      for (const lineEnding of ['lf', 'crlf'] as const) {
        const { data } = await decodedData({ writeMode, lineEnding, keepAliveComments: true });
        expect(data, `${writeMode} ${lineEnding}`).toEqual(reference.data);
      }
    }
  });

  it('split: three writes per event, cut inside multibyte characters', async () => {
    const { reads } = await decodedData({ writeMode: 'split' });
    expect(reads).toHaveLength(3 * 7);
    const strict = new TextDecoder('utf-8', { fatal: true });
    expect(reads.some((read) => !decodes(strict, read))).toBe(true);
    expect(Buffer.concat(reads)).toEqual(sim.sent[0]);
  });

  it("split with CRLF: one cut between each event's first CR and LF", async () => {
    const { reads } = await decodedData({ writeMode: 'split', lineEnding: 'crlf' });
    const body = Buffer.concat(reads).toString();
    expect(body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (let i = 0; i < reads.length; i += 3) {
      expect(reads[i + 1]?.at(-1)).toBe(0x0d);
      expect(reads[i + 2]?.toString()).toBe('\n\r\n');
    }
    expect(sseSplitPoints(Buffer.from('data: é\r\n\r\n'), 'crlf')).toEqual([7, 9]);
  });

  it('coalesced: the whole body in one write', async () => {
    const { reads } = await decodedData({ writeMode: 'coalesced', tokenDelayMs: 1 });
    expect(reads).toHaveLength(1);
  });

  it('keepAliveComments: a ping comment before every event', async () => {
    sim.behave({ keepAliveComments: true, lineEnding: 'crlf' });
    const text = await (await post(CHAT)).text();
    const frameList = text.split('\r\n\r\n').slice(0, -1);
    expect(frameList).toHaveLength(14);
    frameList.forEach((frame, i) => {
      expect(frame.startsWith(i % 2 === 0 ? ': ping' : 'data: '), frame).toBe(true);
    });
  });
});

function decodes(decoder: InstanceType<typeof TextDecoder>, bytes: Buffer): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('client disconnects', () => {
  it('while streaming: stops producing after the chunks already sent', async () => {
    sim.behave({ tokenDelayMs: 60_000 });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    await readUntil(reader, '\n\n');
    controller.abort();
    const abort = await sim.nextAbort();
    expect(abort).toMatchObject({ path: '/v1/chat/completions', phase: 'stream', status: 200 });
    expect(abort.at).toBeLessThanOrEqual(performance.now());
    expect(frames(sim.sent[0]?.toString() ?? '')).toHaveLength(1);
  });

  it('not streamed: a client leaving before the reply is a 499 load abort', async () => {
    sim.behave({ promptDelayMs: 60_000 });
    const controller = new AbortController();
    const pending = post({ ...CHAT, stream: false }, { signal: controller.signal });
    await sim.nextRequest();
    expect(sim.activeStreams()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(await sim.nextAbort()).toMatchObject({ phase: 'load', status: 499 });
    expect(sim.aborts).toHaveLength(1);
    expect(sim.activeStreams()).toBe(0);
  });
});

describe('other endpoints', () => {
  it('lists models and answers unknown paths with OpenAI envelopes', async () => {
    const list = (await (await fetch(`${sim.url}/v1/models`)).json()) as { object: string; data: unknown[] };
    expect(list).toEqual({
      object: 'list',
      data: [
        { id: 'gpt-4o-mini', object: 'model', created: expect.any(Number), owned_by: 'system' },
        { id: 'qwen2.5-7b-instruct', object: 'model', created: expect.any(Number), owned_by: 'system' },
      ],
    });
    expect(await (await fetch(`${sim.url}/v1/models/gpt-4o-mini`)).json()).toMatchObject({
      id: 'gpt-4o-mini',
    });
    const missing = await fetch(`${sim.url}/v1/models/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'model_not_found' } });
    const wrongMethod = await fetch(`${sim.url}/v1/chat/completions`);
    expect(wrongMethod.status).toBe(404);
    expect(await wrongMethod.json()).toMatchObject({
      error: { message: 'Invalid URL (GET /v1/chat/completions)' },
    });
    expect(sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/models',
      'GET /v1/models/gpt-4o-mini',
      'GET /v1/models/nope',
      'GET /v1/chat/completions',
    ]);
    expect(sim.sent).toEqual([]);
  });

  it('honours the models option, with ids containing slashes', async () => {
    const other = await startOpenAiSimulator({ models: ['meta-llama/Llama-3.2-3B-Instruct'] });
    try {
      const list = (await (await fetch(`${other.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
      expect(list.data.map((m) => m.id)).toEqual(['meta-llama/Llama-3.2-3B-Instruct']);
      const one = await fetch(`${other.url}/v1/models/meta-llama/Llama-3.2-3B-Instruct`);
      expect(one.status).toBe(200);
      other.models.length = 0;
      expect(await (await fetch(`${other.url}/v1/models`)).json()).toEqual({ object: 'list', data: [] });
    } finally {
      await other.close();
    }
  });
});
