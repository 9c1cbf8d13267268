import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../support/start-gateway.js';
import { startTestUpstream, type TestUpstream, type UpstreamKind } from '../support/test-upstreams.js';

const hi = [{ role: 'user' as const, content: 'hi' }];

/** The official `openai` SDK and Vercel's AI SDK, pointed at chatwire, over each upstream kind. */
describe.each<UpstreamKind>(['ollama', 'openai'])('OpenAI-compatible API over a %s upstream', (kind) => {
  let upstream: TestUpstream;
  let chatwire: RunningGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    upstream = await startTestUpstream(kind);
    chatwire = await startGateway('127.0.0.1:1', {
      ...upstream.env,
      CHATWIRE_ALLOWED_MODELS: 'qwen2.5:7b,llama3.2',
      CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: '400',
      CHATWIRE_SSE_KEEPALIVE_MS: '0',
    });
    openai = new OpenAI({ baseURL: `${chatwire.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await chatwire.close();
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  it('streams text: role first, every token in order, a finish reason, then the end', async () => {
    upstream.behave({ tokens: ['Hel', 'lo', ' 🙂'] });
    const stream = await openai.chat.completions.create({ model: 'llama3.2', messages: hi, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hello 🙂');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]?.id).toMatch(/^chatcmpl-/);
  });

  it('answers without streaming, with usage', async () => {
    upstream.behave({ tokens: ['Hel', 'lo'], usage: { promptTokens: 9, completionTokens: 2 } });
    const completion = await openai.chat.completions.create({ model: 'qwen2.5:7b', messages: hi });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hello' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 });
  });

  it('sends a usage chunk when stream_options.include_usage is set', async () => {
    upstream.behave({ tokens: ['a'], usage: { promptTokens: 4, completionTokens: 1 } });
    const stream = await openai.chat.completions.create({
      model: 'llama3.2',
      messages: hi,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 });
  });

  it('maps sampling options and JSON mode upstream', async () => {
    upstream.behave({ tokens: ['{"a":1}'] });
    const completion = await openai.chat.completions.create({
      model: 'llama3.2',
      messages: hi,
      max_tokens: 50,
      temperature: 0.1,
      stop: 'END',
      seed: 7,
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual({ a: 1 });
    const body = JSON.stringify(upstream.requests.at(-1)?.body);
    expect(body).toContain('"temperature":0.1');
    expect(body).toContain('"seed":7');
    expect(body).toMatch(
      kind === 'ollama' ? /"format":"json"/ : /"response_format":\{"type":"json_object"\}/,
    );
    expect(body).toMatch(kind === 'ollama' ? /"num_predict":50/ : /"max_tokens":50/);
  });

  it('round-trips a tool call', async () => {
    upstream.behave({ tokens: [], toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const first = await openai.chat.completions.create({ model: 'llama3.2', messages: hi, tools });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

    upstream.behave({ tokens: ['Sunny in Paris'] });
    const second = await openai.chat.completions.create({
      model: 'llama3.2',
      tools,
      messages: [
        ...hi,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"sky":"clear"}' },
      ],
    });
    expect(second.choices[0]?.message.content).toBe('Sunny in Paris');
    const sent = JSON.stringify(upstream.requests.at(-1)?.body);
    expect(sent).toContain('{\\"sky\\":\\"clear\\"}');
    expect(sent).toContain('get_weather');
  });

  it('streams tool calls that the .stream() helper assembles into a final completion', async () => {
    upstream.behave({
      tokens: ['Let me check.'],
      toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }],
    });
    const runner = openai.chat.completions.stream({
      model: 'llama3.2',
      messages: hi,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Let me check.');
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Oslo' });
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('an unknown model upstream is a NotFoundError', async () => {
    const strict = await startGateway('127.0.0.1:1', { ...upstream.env, CHATWIRE_ALLOWED_MODELS: '*' });
    try {
      const client = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      await expect(
        client.chat.completions.create({ model: 'nope', messages: hi, stream: true }),
      ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    } finally {
      await strict.close();
    }
  });

  it('a model outside the allow-list is a BadRequestError naming the parameter, not retried', async () => {
    const error = await openai.chat.completions.create({ model: 'mistral', messages: hi }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toMatch(/model 'mistral' is not allowed/);
    expect(error.headers.get('x-should-retry')).toBe('false');
  });

  it('a bad body is a BadRequestError naming the field', async () => {
    const error = await openai.chat.completions
      .create({ model: 'llama3.2', messages: [{ role: 'wizard', content: 'x' }] as never })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toMatch(/messages\[0\]\.role must be one of/);
    expect(error.param).toBe('messages.0.role');
  });

  it('a busy upstream is a 503 InternalServerError', async () => {
    upstream.behave({ preError: { status: 503, message: 'server busy' } });
    const error = await openai.chat.completions
      .create({ model: 'llama3.2', messages: hi, stream: true })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(503);
  });

  it('a slow first token is a 504 that the SDK is told not to retry', async () => {
    upstream.behave({ stallBeforeFirstChunk: true });
    const error = await openai.chat.completions
      .create({ model: 'llama3.2', messages: hi, stream: true })
      .catch((e) => e);
    expect(error.status).toBe(504);
    expect(error.headers.get('x-should-retry')).toBe('false');
  });

  it('a mid-stream upstream death makes the SDK throw, after the tokens before it', async () => {
    upstream.behave({ tokens: ['a', 'b', 'c'], midStream: { afterChunks: 2, mode: 'destroy' } });
    const stream = await openai.chat.completions.create({ model: 'llama3.2', messages: hi, stream: true });
    const seen: string[] = [];
    const consume = async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toThrow(/lost mid-stream/);
    expect(seen.join('')).toBe('ab');
  });

  it('an in-band upstream error makes the SDK throw with its message', async () => {
    upstream.behave({
      tokens: ['a', 'b'],
      midStream: { afterChunks: 1, mode: 'error', message: 'runner crashed' },
    });
    const stream = await openai.chat.completions.create({ model: 'llama3.2', messages: hi, stream: true });
    const consume = async () => {
      for await (const _chunk of stream) {
      }
    };
    await expect(consume()).rejects.toThrow(/runner crashed/);
  });

  it('lists the allowed models', async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    expect(models.sort()).toEqual(
      kind === 'ollama' ? ['llama3.2:latest', 'qwen2.5:7b'] : ['llama3.2', 'qwen2.5:7b'],
    );
    const one = await openai.models.retrieve('qwen2.5:7b');
    expect(one).toMatchObject({ id: 'qwen2.5:7b', object: 'model' });
    await expect(openai.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("works with the AI SDK's streamText", async () => {
    upstream.behave({ tokens: ['Hi', ' there'], usage: { promptTokens: 3, completionTokens: 2 } });
    const provider = createOpenAICompatible({
      name: 'chatwire',
      baseURL: `${chatwire.url}/v1`,
      includeUsage: true,
    });
    const result = streamText({ model: provider('llama3.2'), prompt: 'hi' });
    let text = '';
    for await (const part of result.textStream) text += part;
    expect(text).toBe('Hi there');
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBe(2);
  });

  it('sends keep-alive comments while the first token is slow, then the stream', async () => {
    const patient = await startGateway('127.0.0.1:1', {
      ...upstream.env,
      CHATWIRE_ALLOWED_MODELS: '*',
      CHATWIRE_SSE_KEEPALIVE_MS: '20',
    });
    try {
      upstream.behave({ tokens: ['late'], firstTokenDelayMs: 150 });
      const response = await fetch(`${patient.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama3.2', messages: hi, stream: true }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text.startsWith(': ping\n\n')).toBe(true);
      expect(text).toContain('"content":"late"');
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    } finally {
      await patient.close();
    }
  });

  it('reports a failure after keep-alives in-band, since the status is already sent', async () => {
    const patient = await startGateway('127.0.0.1:1', {
      ...upstream.env,
      CHATWIRE_ALLOWED_MODELS: '*',
      CHATWIRE_SSE_KEEPALIVE_MS: '20',
      CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: '150',
    });
    try {
      upstream.behave({ stallBeforeFirstChunk: true });
      const response = await fetch(`${patient.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama3.2', messages: hi, stream: true }),
      });
      expect(response.status).toBe(200);
      // The error is the generation's one frame: `id: <generation>-1`, then its data.
      const id = response.headers.get('chatwire-generation-id');
      const events = (await response.text()).split('\n\n').filter((event) => event.includes('data: '));
      expect(events).toHaveLength(1);
      const [idLine, dataLine] = (events[0] as string).split('\n') as [string, string];
      expect(idLine).toBe(`id: ${id}-1`);
      const error = JSON.parse(dataLine.slice('data: '.length));
      expect(error.error.message).toMatch(/timed out after 150 ms waiting for the first token/);
      expect(error.error.type).toBe('timeout_error');
    } finally {
      await patient.close();
    }
  });
});
