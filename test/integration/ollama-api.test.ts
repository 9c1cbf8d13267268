import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../support/start-gateway.js';
import { startTestUpstream, type TestUpstream, type UpstreamKind } from '../support/test-upstreams.js';

/** The official `ollama` client, pointed at chatwire as its Ollama host, over each upstream kind. */
describe.each<UpstreamKind>(['ollama', 'openai'])('Ollama-compatible API over a %s upstream', (kind) => {
  let upstream: TestUpstream;
  let chatwire: RunningGateway;
  let ollama: Ollama;

  beforeAll(async () => {
    upstream = await startTestUpstream(kind);
    chatwire = await startGateway('127.0.0.1:1', {
      ...upstream.env,
      CHATWIRE_ALLOWED_MODELS: 'qwen2.5:7b,llama3.2',
      CHATWIRE_IDLE_TIMEOUT_MS: '300',
    });
    ollama = new Ollama({ host: chatwire.url });
  });
  afterAll(async () => {
    await chatwire.close();
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  it('chat streams every token in order, ending with done', async () => {
    upstream.behave({ tokens: ['Hel', 'lo', ' 🙂'] });
    const parts = [];
    for await (const part of await ollama.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })) {
      parts.push(part);
    }
    expect(parts.map((part) => part.message.content).join('')).toBe('Hello 🙂');
    expect(parts.at(-1)?.done).toBe(true);
    expect(parts.at(-1)?.done_reason).toBe('stop');
  });

  it('chat relays the client model and options, with no persona added', async () => {
    await ollama.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      options: { temperature: 0 },
    });
    const body = upstream.requests.at(-1)?.body as { model: string; messages: Array<{ role: string }> };
    expect(body.model).toBe('llama3.2');
    expect(body.messages.map((message) => message.role)).toEqual(['user']);
    expect(JSON.stringify(body)).toContain('"temperature":0');
  });

  it('chat relays fields chatwire does not model to an Ollama upstream', async () => {
    await ollama.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      keep_alive: '10m',
      format: 'json',
      ...({ truncate: false } as object),
    });
    const body = upstream.requests.at(-1)?.body as Record<string, unknown>;
    if (kind === 'ollama') expect(body).toMatchObject({ keep_alive: '10m', format: 'json', truncate: false });
    else expect(body).toMatchObject({ response_format: { type: 'json_object' } });
  });

  it('chat without streaming answers one merged message', async () => {
    upstream.behave({ tokens: ['Hel', 'lo'], usage: { promptTokens: 7, completionTokens: 2 } });
    const response = await ollama.chat({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.message).toMatchObject({ role: 'assistant', content: 'Hello' });
    expect(response.done).toBe(true);
    expect(response.eval_count).toBe(2);
    expect(response.prompt_eval_count).toBe(7);
  });

  it('chat returns tool calls as objects', async () => {
    upstream.behave({ tokens: [], toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const response = await ollama.chat({
      model: 'qwen2.5:7b',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    expect(response.message.tool_calls?.[0]?.function).toMatchObject({
      name: 'get_weather',
      arguments: { city: 'Paris' },
    });
  });

  it('generate streams as /api/generate chunks', async () => {
    upstream.behave({ tokens: ['4'] });
    const parts = [];
    for await (const part of await ollama.generate({ model: 'llama3.2', prompt: '2+2?', stream: true })) {
      parts.push(part);
    }
    expect(parts.map((part) => part.response).join('')).toBe('4');
    expect(parts.at(-1)?.done).toBe(true);
    const response = await ollama.generate({
      model: 'llama3.2',
      prompt: '2+2?',
      system: 'Answer with a digit.',
    });
    expect(response.response).toBe('4');
    const body = upstream.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    expect(body.messages).toMatchObject([
      { role: 'system', content: 'Answer with a digit.' },
      { role: 'user', content: '2+2?' },
    ]);
  });

  it('list shows the allowed models', async () => {
    const { models } = await ollama.list();
    expect(models.map((model) => model.name).sort()).toEqual(
      kind === 'ollama' ? ['llama3.2:latest', 'qwen2.5:7b'] : ['llama3.2', 'qwen2.5:7b'],
    );
  });

  it('show answers for an allowed model and 404s for others', async () => {
    const shown = await ollama.show({ model: 'qwen2.5:7b' });
    expect(shown).toHaveProperty('details');
    await expect(ollama.show({ model: 'mistral' })).rejects.toMatchObject({ status_code: 404 });
  });

  it('ps answers a model list', async () => {
    const running = await ollama.ps();
    expect(Array.isArray(running.models)).toBe(true);
  });

  it('version answers', async () => {
    const { version } = await ollama.version();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a model outside the allow-list is refused with its error', async () => {
    await expect(
      ollama.chat({ model: 'mistral', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({
      status_code: 400,
      error: "model 'mistral' is not allowed; allowed models: qwen2.5:7b, llama3.2",
    });
  });

  it('an upstream error before the first token reaches the client as its status', async () => {
    upstream.behave({ preError: { status: 503, message: 'server busy' } });
    await expect(
      ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    ).rejects.toMatchObject({ status_code: 503, error: 'server busy' });
  });

  it('a mid-stream failure makes the client throw, after the tokens before it', async () => {
    upstream.behave({ tokens: ['a', 'b', 'c'], midStream: { afterChunks: 2, mode: 'destroy' } });
    const seen: string[] = [];
    const consume = async () => {
      for await (const part of await ollama.chat({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      })) {
        seen.push(part.message.content);
      }
    };
    await expect(consume()).rejects.toThrow(/lost mid-stream/);
    expect(seen.join('')).toBe('ab');
  });

  it('abort stops the stream and the upstream request', async () => {
    upstream.behave({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 10 });
    const stream = await ollama.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const consume = (async () => {
      for await (const _part of stream) stream.abort();
    })();
    await expect(consume).rejects.toThrow(/abort/i);
    expect((await upstream.nextAbort()).phase).toBe('stream');
  });

  it('GET / says Ollama is running', async () => {
    const response = await fetch(`${chatwire.url}/`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('Ollama is running');
  });
});
