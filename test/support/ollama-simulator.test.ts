import { type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from './ollama-simulator.js';
import { until } from './pool-fixture.js';
import { goDecode } from './simulator-go-decode.js';
import { goJson, rfc3339Nano, splitPoints } from './simulator-wire.js';

let sim: OllamaSimulator;

beforeAll(async () => {
  sim = await startOllamaSimulator();
});
afterEach(() => sim.reset());
afterAll(() => sim.close());

const CHAT = { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] };
const CREATED_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;
const FIXED_METRICS = {
  total_duration: 5,
  load_duration: 1,
  prompt_eval_count: 2,
  prompt_eval_duration: 3,
  eval_count: 4,
  eval_duration: 6,
};

function post(body: unknown, init: RequestInit = {}): Promise<Response> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return fetch(`${sim.url}/api/chat`, { method: 'POST', body: payload, ...init });
}

function parseLines(text: string): Array<Record<string, unknown>> {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line));
}

/** node:http exposes each network read as its own 'data' event, which fetch hides. */
function rawPost(body: unknown): Promise<{ status: number; headers: IncomingHttpHeaders; reads: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}/api/chat`, { method: 'POST' }, (res) => {
      const reads: Buffer[] = [];
      res.on('data', (chunk: Buffer) => reads.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, reads }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function readUntilLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n').length - 1 < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

const withoutTimestamps = (text: string) => text.replace(/"created_at":"[^"]+"/g, '"created_at":"T"');

describe('streaming /api/chat', () => {
  it('frames one compact JSON object per line with Ollama field order', async () => {
    const res = await post(CHAT);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    const text = await res.text();
    expect(Buffer.from(text)).toEqual(sim.sent[0]);
    const lines = parseLines(text);
    expect(lines.map((l) => (l.message as { content: string }).content).join('')).toBe('Hello world');
    for (const chunk of lines.slice(0, -1)) {
      expect(Object.keys(chunk)).toEqual(['model', 'created_at', 'message', 'done']);
      expect(chunk.done).toBe(false);
      expect(chunk.created_at).toMatch(CREATED_AT);
    }
    const final = lines.at(-1) ?? {};
    expect(Object.keys(final)).toEqual([
      'model',
      'created_at',
      'message',
      'done',
      'done_reason',
      'total_duration',
      'load_duration',
      'prompt_eval_count',
      'prompt_eval_duration',
      'eval_count',
      'eval_duration',
    ]);
    expect(final).toMatchObject({
      model: 'llama3.2',
      message: { role: 'assistant', content: '' },
      eval_count: 4,
    });
    expect(sim.activeStreams()).toBe(0);
  });

  it('sends no headers before the first chunk', async () => {
    sim.behave({ promptEvalDelayMs: 20 });
    const res = await post(CHAT);
    // fetch resolves on the status line; it can only have arrived together with the first chunk.
    expect(sim.sent[0]?.length).toBeGreaterThan(0);
    await res.text();

    // At the socket level, the status line and the first chunk arrive in the same read. The long token delay
    // keeps the stream open, so closing the socket afterwards is a client abort.
    sim.behave({ promptEvalDelayMs: 20, tokenDelayMs: 60_000 });
    const body = JSON.stringify(CHAT);
    const firstRead = await new Promise<string>((resolve, reject) => {
      const socket = connect(sim.port, '127.0.0.1', () => {
        socket.write(
          `POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      });
      socket.once('data', (data) => {
        resolve(data.toString('utf8'));
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(firstRead).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(firstRead).toContain('"content":"Hel"');
    expect(await sim.nextAbort()).toMatchObject({ phase: 'stream' });
  });

  it('can flush headers early instead (headersEarly)', async () => {
    sim.behave({ headersEarly: true, stallBeforeFirstChunk: true });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(sim.sent[0]?.length).toBe(0);
    controller.abort();
    expect(await sim.nextAbort()).toMatchObject({ phase: 'load', status: 200 });
  });

  it('sends thinking first, then content, then tool calls as one chunk', async () => {
    sim.behave({
      thinking: ['Let me ', 'see'],
      tokens: ['Sure'],
      toolCalls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
      doneReason: 'length',
      finalMetrics: { ...FIXED_METRICS, prompt_eval_count: 0 },
    });
    const lines = parseLines(await (await post(CHAT)).text());
    expect(lines.map((l) => l.message)).toEqual([
      { role: 'assistant', content: '', thinking: 'Let me ' },
      { role: 'assistant', content: '', thinking: 'see' },
      { role: 'assistant', content: 'Sure' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: expect.stringMatching(/^call_[a-z0-9]{8}$/),
            function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } },
          },
        ],
      },
      { role: 'assistant', content: '' },
    ]);
    expect(lines.at(-1)).toEqual({
      model: 'llama3.2',
      created_at: expect.stringMatching(CREATED_AT),
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'length',
      total_duration: 5,
      load_duration: 1,
      prompt_eval_duration: 3,
      eval_count: 4,
      eval_duration: 6,
    });
  });

  it('Go-escapes <, > and & and echoes the model as sent', async () => {
    sim.behave({ tokens: ['<b>&</b>'] });
    const text = await (await post({ ...CHAT, model: 'LLAMA3.2:latest' })).text();
    expect(text).toContain('"content":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"');
    expect(parseLines(text)[0]).toMatchObject({ model: 'LLAMA3.2:latest', message: { content: '<b>&</b>' } });
    expect(goJson({ s: 'a\u2028b' })).toBe('{"s":"a\\u2028b"}');
  });

  it('formats created_at as RFC3339Nano with trailing zeros trimmed', () => {
    const base = BigInt(Date.UTC(2026, 0, 1, 10, 0, 0)) * 1_000_000n;
    expect(rfc3339Nano(base + 123_400_000n)).toBe('2026-01-01T10:00:00.1234Z');
    expect(rfc3339Nano(base + 1n)).toBe('2026-01-01T10:00:00.000000001Z');
    expect(rfc3339Nano(base)).toBe('2026-01-01T10:00:00Z');
  });
});

describe('stream:false', () => {
  it('merges content, thinking and tool calls into one object with the final metadata', async () => {
    sim.behave({
      thinking: ['Let me ', 'see'],
      tokens: ['A', 'B'],
      toolCalls: [
        { function: { name: 'a', arguments: {} } },
        { id: 'call_fixed00', function: { index: 7, name: 'b', arguments: { x: 1 } } },
      ],
    });
    const res = await post({ ...CHAT, stream: false });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).slice(0, 5)).toEqual(['model', 'created_at', 'message', 'done', 'done_reason']);
    expect(body).toMatchObject({ done: true, done_reason: 'stop', eval_count: 5 });
    expect(body.message).toEqual({
      role: 'assistant',
      content: 'AB',
      thinking: 'Let me see',
      tool_calls: [
        { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), function: { index: 0, name: 'a', arguments: {} } },
        { id: 'call_fixed00', function: { index: 7, name: 'b', arguments: { x: 1 } } },
      ],
    });
  });

  it('turns a mid-stream error into a 500', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'error-line', message: 'boom' } });
    const res = await post({ ...CHAT, stream: false });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'boom' });
  });
});

describe('errors before the first chunk', () => {
  it.each([
    ['', 400, 'missing request body'],
    ['{"model":', 400, 'unexpected EOF'],
    ['nope', 400, "invalid character 'o' in literal null (expecting 'u')"],
    ['{"model":"llama3.2",}', 400, "invalid character '}' looking for beginning of object key string"],
    [
      '{"model":5}',
      400,
      'json: cannot unmarshal number into Go struct field ChatRequest.model of type string',
    ],
    ['{"messages":[]}', 400, 'model is required'],
    ['{"model":"mistral"}', 404, "model 'mistral' not found"],
  ])('%j → %i %s', async (body, status, error) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ error });
    expect((await sim.nextRequest()).rawBody).toBe(body);
  });

  it('reports Go decoder wording for other syntax errors', () => {
    const error = (text: string) => {
      const decoded = goDecode(text);
      return decoded.ok ? undefined : decoded.error;
    };
    expect(error('x')).toBe("invalid character 'x' looking for beginning of value");
    expect(error('{"a" 1}')).toBe("invalid character '1' after object key");
    expect(error('{"a":1 "b":2}')).toBe("invalid character '\"' after object key:value pair");
    expect(error('[1 2]')).toBe("invalid character '2' after array element");
    expect(error('{"a":"\\x"}')).toBe("invalid character 'x' in string escape code");
    expect(error('{"a":"\n"}')).toBe("invalid character '\\n' in string literal");
    expect(error('{"a":1.}')).toBe("invalid character '}' after decimal point in numeric literal");
    expect(goDecode('{"model":"m"} trailing')).toEqual({ ok: true, value: { model: 'm' } });
  });

  it('answers preError with the real status and a JSON envelope', async () => {
    const busy = 'server busy, please try again.  maximum pending requests exceeded';
    sim.behave({ preError: { status: 503, error: busy } });
    const res = await post(CHAT);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.text()).toBe(`{"error":"${busy}"}`);
  });

  it('answers a legacy preError as a 200 NDJSON stream with one error line', async () => {
    sim.behave({ preError: { status: 500, error: 'llama runner process has terminated', legacy: true } });
    const res = await post(CHAT);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(await res.text()).toBe('{"error":"llama runner process has terminated"}\n');
  });
});

describe('mid-stream faults', () => {
  it('error-line: an error line after N chunks and no done line', async () => {
    sim.behave({ midStream: { afterChunks: 2, mode: 'error-line', message: 'boom' } });
    const res = await post(CHAT);
    expect(res.status).toBe(200);
    const lines = parseLines(await res.text());
    expect(lines).toHaveLength(3);
    expect(lines[2]).toEqual({ error: 'boom' });
  });

  it('destroy: the body fails after N chunks', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'destroy' } });
    const res = await post(CHAT);
    await expect(res.text()).rejects.toThrow();
    expect(parseLines(sim.sent[0]?.toString() ?? '')).toHaveLength(1);
    expect(sim.aborts).toEqual([]);
  });

  it('destroy before any chunk: the request itself fails', async () => {
    sim.behave({ midStream: { afterChunks: 0, mode: 'destroy' } });
    await expect(post(CHAT)).rejects.toThrow();
  });

  it('end-without-done: the body ends cleanly without a done line', async () => {
    sim.behave({ midStream: { afterChunks: 3, mode: 'end-without-done' } });
    const lines = parseLines(await (await post(CHAT)).text());
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.done === false)).toBe(true);
  });

  it('stall: nothing more until the client leaves, then an abort in the stream phase', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'stall' } });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    expect(await readUntilLines(reader, 1)).toContain('"Hel"');
    expect(sim.activeStreams()).toBe(1);
    controller.abort();
    const abort = await sim.nextAbort();
    expect(abort).toMatchObject({ path: '/api/chat', phase: 'stream', status: 200 });
    expect(sim.activeStreams()).toBe(0);
    expect(sim.sent[0]?.toString().split('\n')).toHaveLength(2);
  });

  it('garbage-line: a non-JSON line, then the stream continues', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'garbage-line' } });
    const text = await (await post(CHAT)).text();
    const lines = text.split('\n');
    expect(lines[1]).toBe('not json');
    expect(JSON.parse(lines[5] ?? '')).toMatchObject({ done: true });
  });

  it('oversized-line: one valid chunk of exactly the requested size', async () => {
    sim.behave({ midStream: { afterChunks: 0, mode: 'oversized-line', bytes: 100_000 } });
    const text = await (await post(CHAT)).text();
    const first = text.slice(0, text.indexOf('\n') + 1);
    expect(Buffer.byteLength(first)).toBe(100_000);
    expect(JSON.parse(first)).toMatchObject({
      done: false,
      message: { content: expect.stringMatching(/^x+$/) },
    });
    expect(parseLines(text).at(-1)).toMatchObject({ done: true });
  });
});

describe('write modes', () => {
  const tokens = ['héllo', '日本', '🙂', 'plain'];

  it('split: cuts inside multibyte characters and reassembles to the line-mode bytes', async () => {
    sim.behave({ tokens, finalMetrics: FIXED_METRICS });
    const lineMode = await rawPost(CHAT);
    sim.behave({ tokens, finalMetrics: FIXED_METRICS, writeMode: 'split' });
    const split = await rawPost(CHAT);

    const body = Buffer.concat(split.reads);
    expect(body).toEqual(sim.sent[1]);
    expect(withoutTimestamps(body.toString())).toBe(
      withoutTimestamps(Buffer.concat(lineMode.reads).toString()),
    );
    const strict = new TextDecoder('utf-8', { fatal: true });
    expect(split.reads.some((read) => !decodes(strict, read))).toBe(true);

    const isContinuation = (buf: Buffer, at: number) => ((buf[at] ?? 0) & 0xc0) === 0x80;
    for (const line of body.toString().split('\n').slice(0, 3)) {
      const bytes = Buffer.from(`${line}\n`);
      const [a, b] = splitPoints(bytes);
      expect(isContinuation(bytes, a)).toBe(true);
      if (!line.includes('héllo')) expect(isContinuation(bytes, b)).toBe(true);
    }
  });

  it('coalesced: the whole body in one write', async () => {
    sim.behave({ writeMode: 'coalesced', tokenDelayMs: 1 });
    const { reads } = await rawPost(CHAT);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toEqual(sim.sent[0]);
    expect(parseLines(reads[0]?.toString() ?? '')).toHaveLength(5);
  });

  it('held: bytes are released in 16 KiB blocks', async () => {
    sim.behave({ writeMode: 'held', tokens: Array.from({ length: 10 }, () => 'x'.repeat(4000)) });
    const { reads } = await rawPost(CHAT);
    const body = Buffer.concat(reads);
    expect(reads[0]?.length).toBeGreaterThanOrEqual(16 * 1024);
    expect(body).toEqual(sim.sent[0]);
    expect(parseLines(body.toString())).toHaveLength(11);
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
  it('during load: stops, records a 499 load abort', async () => {
    sim.behave({ loadDelayMs: 60_000 });
    const controller = new AbortController();
    const pending = post(CHAT, { signal: controller.signal });
    await sim.nextRequest();
    expect(sim.activeStreams()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    const abort = await sim.nextAbort();
    expect(abort).toMatchObject({ path: '/api/chat', phase: 'load', status: 499 });
    expect(abort.at).toBeLessThanOrEqual(performance.now());
    expect(sim.aborts).toEqual([abort]);
    expect(sim.activeStreams()).toBe(0);
    expect(sim.sent[0]?.length).toBe(0);
  });

  it('while streaming: stops producing after the chunks already sent', async () => {
    sim.behave({ tokenDelayMs: 60_000 });
    const controller = new AbortController();
    const res = await post(CHAT, { signal: controller.signal });
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    await readUntilLines(reader, 1);
    controller.abort();
    expect(await sim.nextAbort()).toMatchObject({ phase: 'stream' });
    expect(sim.sent[0]?.toString().split('\n')).toHaveLength(2);
  });
});

describe('other endpoints', () => {
  it('answers liveness, version and tags like Ollama', async () => {
    const root = await fetch(`${sim.url}/`);
    expect(root.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await root.text()).toBe('Ollama is running');
    const head = await fetch(`${sim.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(await (await fetch(`${sim.url}/api/version`)).json()).toEqual({ version: '0.33.0' });
    const tags = (await (await fetch(`${sim.url}/api/tags`)).json()) as {
      models: Array<Record<string, unknown>>;
    };
    expect(tags.models.map((m) => m.name)).toEqual(['qwen2.5:7b', 'llama3.2:latest']);
    expect(Object.keys(tags.models[0] ?? {})).toEqual([
      'name',
      'model',
      'modified_at',
      'size',
      'digest',
      'details',
    ]);
    const missing = await fetch(`${sim.url}/api/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('404 page not found');
    expect(sim.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /',
      'HEAD /',
      'GET /api/version',
      'GET /api/tags',
      'GET /api/nothing',
    ]);
  });

  it('honours the version and model options', async () => {
    const other = await startOllamaSimulator({ models: [], version: '0.12.5' });
    try {
      expect(await (await fetch(`${other.url}/api/version`)).json()).toEqual({ version: '0.12.5' });
      expect(await (await fetch(`${other.url}/api/tags`)).json()).toEqual({ models: [] });
    } finally {
      await other.close();
    }
  });
});

describe('behaveFor: a behaviour per request', () => {
  it('chooses from the request, reports each end with its bytes, and records nothing when told not to', async () => {
    const ends: Array<{ content: string; aborted: boolean; bytesSent: number }> = [];
    const contentOf = (body: unknown) => String((body as typeof CHAT).messages[0]?.content);
    sim.behaveFor({
      record: false,
      choose: (request) =>
        contentOf(request.body) === 'stall' ? { stallBeforeFirstChunk: true } : { tokens: ['a', 'b'] },
      onEnd: (request, end) =>
        ends.push({
          content: contentOf(request.body),
          aborted: end.abort !== undefined,
          bytesSent: end.bytesSent,
        }),
    });
    const text = await (await post(CHAT)).text();
    expect(parseLines(text).map((l) => (l.message as { content: string }).content)).toEqual(['a', 'b', '']);
    const controller = new AbortController();
    const stalled = post(
      { ...CHAT, messages: [{ role: 'user', content: 'stall' }] },
      { signal: controller.signal },
    );
    await until('the stalled request arrives', () => sim.activeStreams() === 1);
    controller.abort();
    await expect(stalled).rejects.toThrow();
    await until('the simulator sees it leave', () => ends.length === 2);
    expect(ends).toEqual([
      { content: 'hi', aborted: false, bytesSent: Buffer.byteLength(text) },
      { content: 'stall', aborted: true, bytesSent: 0 },
    ]);
    expect([sim.requests, sim.sent, sim.aborts]).toEqual([[], [], []]);
    sim.reset();
    expect(parseLines(await (await post(CHAT)).text())).toHaveLength(5);
  });
});
