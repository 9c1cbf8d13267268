import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { startRechunkingProxy } from '../support/rechunking-proxy.js';
import { postChat, type RunningGateway, readLines, startGateway } from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url, {
    CHATWIRE_SYSTEM_PROMPT: 'You are terse.',
    CHATWIRE_TEMPERATURE: '0.3',
    CHATWIRE_MAX_TOKENS: '128',
  });
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});
beforeEach(() => sim.reset());

describe('POST /v1/chat streaming', () => {
  it('streams Ollama chunks as NDJSON with no-buffering headers, ending with done', async () => {
    sim.behave({ tokens: ['Hel', 'lo'] });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const lines = await readLines(response);
    expect(lines.map((line) => (line.message as { content: string }).content)).toEqual(['Hel', 'lo', '']);
    expect(lines.slice(0, -1).every((line) => line.done === false)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop', model: 'qwen2.5:7b' });
    expect(lines.at(-1)).toHaveProperty('eval_count');
  });

  it('adds the persona: system prompt first, configured model, temperature and num_predict, streaming', async () => {
    await (await postChat(chatwire.url, { stream: false })).text();
    const upstream = sim.requests[0]?.body as Record<string, unknown>;
    expect(upstream).toEqual({
      model: 'qwen2.5:7b',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hi' },
      ],
      stream: true,
      options: { temperature: 0.3, num_predict: 128 },
    });
  });

  it('relays every byte exactly as the upstream wrote it', async () => {
    sim.behave({ tokens: ['<b>', ' & ', 'héllo', ' 日本', ' 🙂'] });
    const response = await postChat(chatwire.url);
    const received = Buffer.from(await response.arrayBuffer());
    expect(received.equals(sim.sent[0] as Buffer)).toBe(true);
    expect(received.toString()).toContain('\\u003cb\\u003e');
  });

  it.each([
    ['split', 'lines split across reads, inside multibyte characters'],
    ['coalesced', 'several lines in one read'],
    ['held', 'bytes held back like a buffering proxy'],
  ] as const)('relays %s writes byte for byte (%s)', async (writeMode, _description) => {
    sim.behave({ tokens: ['héllo', ' 日本', ' 🙂', ' done'], writeMode });
    const response = await postChat(chatwire.url);
    const received = Buffer.from(await response.arrayBuffer());
    expect(received.toString()).toBe((sim.sent[0] as Buffer).toString());
    expect(received.equals(sim.sent[0] as Buffer)).toBe(true);
  });

  it('relays thinking and tool-call chunks unchanged', async () => {
    sim.behave({
      thinking: ['Let me think'],
      tokens: [],
      toolCalls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
    });
    const lines = await readLines(await postChat(chatwire.url));
    expect(lines[0]).toMatchObject({ message: { thinking: 'Let me think', content: '' } });
    expect(lines[1]).toMatchObject({
      message: { tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
    });
    expect(lines.at(-1)?.done).toBe(true);
  });

  it('reuses one upstream connection for consecutive requests', async () => {
    for (let i = 0; i < 3; i++) await (await postChat(chatwire.url)).text();
    const ports = new Set(sim.requests.map((request) => request.remotePort));
    expect(sim.requests).toHaveLength(3);
    expect(ports.size).toBe(1);
  });
});

describe('POST /v1/chat with stream:false', () => {
  it('answers one JSON object with the merged message and final metrics', async () => {
    sim.behave({ tokens: ['Hel', 'lo', '!'], finalMetrics: { prompt_eval_count: 12, eval_count: 3 } });
    const response = await postChat(chatwire.url, { stream: false });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await response.json();
    expect(body).toMatchObject({
      model: 'qwen2.5:7b',
      message: { role: 'assistant', content: 'Hello!' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 12,
      eval_count: 3,
    });
    expect(body).toHaveProperty('total_duration');
  });
});

describe('a streaming fetch client', () => {
  const tokens = ['héllo', ' 日本', ' 🙂', ' wörld', ' ✓', ' done'];

  /** Reads /v1/chat the way a browser client should: bytes buffered, split on newlines, UTF-8 decoded in stream mode. */
  async function readStream(url: string) {
    const response = await postChat(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let readsEndingMidLine = 0;
    const lines: Array<{ message?: { content: string }; done?: boolean }> = [];
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      if (read.value[read.value.length - 1] !== 0x0a) readsEndingMidLine++;
      buffer += decoder.decode(read.value, { stream: true });
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) if (part !== '') lines.push(JSON.parse(part));
    }
    buffer += decoder.decode();
    return { lines, leftover: buffer, readsEndingMidLine };
  }

  it('gets whole lines from chatwire even when the upstream splits them', async () => {
    sim.behave({ tokens, writeMode: 'split' });
    const { lines, readsEndingMidLine } = await readStream(chatwire.url);
    expect(readsEndingMidLine).toBe(0);
    expect(lines.map((line) => line.message?.content ?? '').join('')).toBe(tokens.join(''));
  });

  it('reassembles lines a proxy split across its reads, dropping nothing', async () => {
    const proxy = await startRechunkingProxy(chatwire.url, 7);
    try {
      sim.behave({ tokens });
      const { lines, leftover, readsEndingMidLine } = await readStream(proxy.url);
      expect(readsEndingMidLine).toBeGreaterThan(0);
      expect(leftover).toBe('');
      expect(lines.map((line) => line.message?.content ?? '').join('')).toBe(tokens.join(''));
      expect(lines.at(-1)?.done).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});
