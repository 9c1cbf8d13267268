import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChatEvent, ChatwireError, createClient } from '../../src/client/index.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { type RunningGateway, startGateway } from '../support/start-gateway.js';

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

const messages = [{ role: 'user' as const, content: 'hi' }];
const tokens = ['héllo', ' 日本', ' 🙂', ' wörld', ' ✓'];

/** A transport that hands the real body over one byte per read, the worst framing a network can produce. */
const oneByteAtATime: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!response.body) return response;
  const reader = response.body.getReader();
  let current: Uint8Array | undefined;
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!current || offset >= current.length) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        current = value;
        offset = 0;
      }
      controller.enqueue(current.slice(offset, offset + 1));
      offset += 1;
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, headers: response.headers });
};

async function collect(stream: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error?: unknown }> {
  const events: ChatEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const textsOf = (events: ChatEvent[]) =>
  events.flatMap((event) => (event.type === 'text' ? [event.text] : []));

describe('client.chat.stream', () => {
  it('yields each token in order, then done with stats', async () => {
    sim.behave({
      tokens,
      finalMetrics: { prompt_eval_count: 12, eval_count: 5, eval_duration: 500_000_000 },
    });
    const client = createClient({ baseUrl: chatwire.url });
    const { events, error } = await collect(client.chat.stream({ messages }));
    expect(error).toBeUndefined();
    expect(textsOf(events)).toEqual(tokens);
    const done = events.at(-1);
    if (done?.type !== 'done') throw new Error(`last event is ${done?.type}`);
    expect(done.stats).toMatchObject({ promptTokens: 12, completionTokens: 5, tokensPerSecond: 10 });
    expect(done.stats.totalDurationMs).toBeGreaterThan(0);
    expect(done.stats.ttftMs).toBeGreaterThan(0);
    expect(done.doneReason).toBe('stop');
  });

  it('yields thinking separately from text', async () => {
    sim.behave({ thinking: ['Let me', ' think'], tokens: ['Hi'] });
    const { events } = await collect(createClient({ baseUrl: chatwire.url }).chat.stream({ messages }));
    expect(events.slice(0, 3)).toEqual([
      { type: 'thinking', text: 'Let me' },
      { type: 'thinking', text: ' think' },
      { type: 'text', text: 'Hi' },
    ]);
  });

  it('.text() collects the whole reply', async () => {
    sim.behave({ tokens });
    expect(await createClient({ baseUrl: chatwire.url }).chat.stream({ messages }).text()).toBe(
      tokens.join(''),
    );
  });

  it('loses nothing when the body arrives one byte per read', async () => {
    sim.behave({ tokens, writeMode: 'split' });
    const client = createClient({ baseUrl: chatwire.url, fetch: oneByteAtATime });
    const { events, error } = await collect(client.chat.stream({ messages }));
    expect(error).toBeUndefined();
    expect(textsOf(events)).toEqual(tokens);
    expect(events.at(-1)?.type).toBe('done');
  });

  it('throws stream_error for an in-band error line, after the tokens before it', async () => {
    sim.behave({
      tokens: ['a', 'b', 'c'],
      midStream: { afterChunks: 2, mode: 'error-line', message: 'runner died' },
    });
    const { events, error } = await collect(
      createClient({ baseUrl: chatwire.url }).chat.stream({ messages }),
    );
    expect(textsOf(events)).toEqual(['a', 'b']);
    expect(error).toBeInstanceOf(ChatwireError);
    expect(error).toMatchObject({
      status: 200,
      code: 'stream_error',
      message: expect.stringContaining('runner died'),
    });
  });

  it.each([
    [404, "model 'x' not found, try pulling it first"],
    [503, 'server busy, please try again.  maximum pending requests exceeded'],
  ])('throws the status %i with its message before the first token', async (status, message) => {
    sim.behave({ preError: { status, error: message } });
    const { events, error } = await collect(
      createClient({ baseUrl: chatwire.url }).chat.stream({ messages }),
    );
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(ChatwireError);
    expect(error).toMatchObject({
      status,
      code: `http_${status}`,
      message: expect.stringContaining(message),
    });
  });

  it('throws truncated when the body ends without a done line', async () => {
    const body = '{"message":{"content":"par"},"done":false}\n{"message":{"content":"tial"},"done":false}\n';
    const client = createClient({
      baseUrl: 'http://chatwire.invalid',
      fetch: async () => new Response(body, { headers: { 'content-type': 'application/x-ndjson' } }),
    });
    const { events, error } = await collect(client.chat.stream({ messages }));
    expect(textsOf(events)).toEqual(['par', 'tial']);
    expect(error).toMatchObject({ name: 'ChatwireError', status: 200, code: 'truncated' });
  });

  it('an AbortSignal ends iteration with the abort and stops the upstream', async () => {
    sim.behave({ tokens: Array.from({ length: 500 }, (_, i) => `t${i} `), tokenDelayMs: 10 });
    const controller = new AbortController();
    const stream = createClient({ baseUrl: chatwire.url }).chat.stream({
      messages,
      signal: controller.signal,
    });
    const seen: string[] = [];
    const failure = (async () => {
      for await (const event of stream) {
        if (event.type === 'text') seen.push(event.text);
        if (seen.length === 2) controller.abort();
      }
    })().catch((error: unknown) => error);
    expect((await sim.nextAbort()).phase).toBe('stream');
    const error = await failure;
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(error).not.toBeInstanceOf(ChatwireError);
    expect(seen).toEqual(['t0 ', 't1 ']);
  });

  it('leaving the loop early cancels the request', async () => {
    sim.behave({ tokens: Array.from({ length: 500 }, (_, i) => `t${i} `), tokenDelayMs: 10 });
    for await (const event of createClient({ baseUrl: chatwire.url }).chat.stream({ messages })) {
      if (event.type === 'text') break;
    }
    expect((await sim.nextAbort()).phase).toBe('stream');
  });

  it('throws network_error when nothing listens', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:1' });
    await expect(client.chat.stream({ messages }).text()).rejects.toMatchObject({
      code: 'network_error',
      status: 0,
    });
  });
});

describe('client.chat.send', () => {
  it('returns the whole text and the stats', async () => {
    sim.behave({ tokens, finalMetrics: { prompt_eval_count: 7, eval_count: 5 } });
    const reply = await createClient({ baseUrl: chatwire.url }).chat.send({ messages });
    expect(reply.text).toBe(tokens.join(''));
    expect(reply.stats).toMatchObject({ promptTokens: 7, completionTokens: 5 });
    expect(reply.stats.ttftMs).toBeUndefined();
  });

  it('throws a ChatwireError with the status', async () => {
    sim.behave({ preError: { status: 503, error: 'server busy' } });
    await expect(createClient({ baseUrl: chatwire.url }).chat.send({ messages })).rejects.toMatchObject({
      status: 503,
      code: 'http_503',
      message: expect.stringContaining('server busy'),
    });
  });
});

describe('client.conversations and client.personas', () => {
  it('round trip: create, stream a message, get shows both messages, rename, list, delete', async () => {
    sim.behave({ tokens: ['Hi', ' Ana'] });
    const client = createClient({ baseUrl: `${chatwire.url}/` });
    const created = await client.conversations.create({ title: 'First' });
    expect(created).toMatchObject({ persona: 'default', title: 'First' });

    expect(await client.conversations.stream(created.id, { content: 'I am Ana.' }).text()).toBe('Hi Ana');

    const got = await client.conversations.get(created.id);
    expect(got.messages.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'I am Ana.', status: 'complete' },
      { role: 'assistant', content: 'Hi Ana', status: 'complete' },
    ]);

    sim.behave({ tokens: ['Ana'] });
    expect((await client.conversations.send(created.id, { content: 'Name?' })).text).toBe('Ana');

    expect(await client.conversations.rename(created.id, 'Renamed')).toMatchObject({ title: 'Renamed' });
    const page = await client.conversations.list({ limit: 100 });
    expect(page.conversations.map((conversation) => conversation.id)).toContain(created.id);
    await client.conversations.delete(created.id);
    await expect(client.conversations.get(created.id)).rejects.toMatchObject({
      status: 404,
      code: 'http_404',
    });
  });

  it('lists the personas', async () => {
    const personas = await createClient({ baseUrl: chatwire.url }).personas.list();
    expect(personas.map((persona) => persona.name)).toContain('default');
  });

  it('lists the models a client may name, and regenerates the last reply', async () => {
    const client = createClient({ baseUrl: chatwire.url });
    expect(await client.models.list()).toEqual(['qwen2.5:7b']);
    const { id } = await client.conversations.create();
    sim.behave({ tokens: ['one'] });
    await client.conversations.stream(id, { content: 'a number?' }).text();
    sim.behave({ tokens: ['two'] });
    expect(await client.conversations.regenerate(id).text()).toBe('two');
    const { messages } = await client.conversations.get(id);
    expect(messages.map((message) => message.content)).toEqual(['a number?', 'two']);
  });
});
