// The embedded engine's real load-and-stream path: node-llama-cpp running a tiny GGUF the suite writes itself,
// CPU only, one thread, served through every chat API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedEngineAvailable,
  engineStatus,
  eventually,
  startEmbeddedGateway,
  tinyModelFolder,
} from '../support/gguf/embedded-engine.js';
import { postChat, type RunningGateway, readLines } from '../support/start-gateway.js';

const available = await embeddedEngineAvailable('embedded engine tests');

const json = { 'content-type': 'application/json' };
const contentOf = (lines: Array<Record<string, unknown>>) =>
  lines.map((line) => (line.message as { content?: string } | undefined)?.content ?? '').join('');

describe.skipIf(!available)('chat on the embedded engine', () => {
  let model: Awaited<ReturnType<typeof tinyModelFolder>>;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    model = await tinyModelFolder();
    chatwire = await startEmbeddedGateway(model.modelPath, {
      CHATWIRE_PARALLEL: '2',
      CHATWIRE_ALLOWED_OPTIONS: 'num_predict',
      // Any name gets past the allow-list, so the engine's own answer for models it lacks is seen.
      CHATWIRE_ALLOWED_MODELS: '*',
    });
  });
  afterAll(async () => {
    await chatwire?.close();
    await model?.remove();
  });

  it('streams /v1/chat token by token and ends with done, counts and timings', async () => {
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = await readLines(response);
    const deltas = lines.slice(0, -1);
    // The model's vocabulary is bytes and it only scores printable ASCII: one character per token.
    expect(deltas).toHaveLength(24);
    for (const line of deltas) {
      expect(line).toMatchObject({ model: 'tiny-chat', done: false, message: { role: 'assistant' } });
      expect((line.message as { content: string }).content).toMatch(/^[\x20-\x7e]$/);
    }
    const done = lines.at(-1) as Record<string, number | string>;
    expect(done).toMatchObject({ model: 'tiny-chat', done: true, done_reason: 'length', eval_count: 24 });
    expect(done.prompt_eval_count).toBeGreaterThan(20);
    expect(done.total_duration).toBeGreaterThanOrEqual(Number(done.eval_duration));
  });

  it('gives the same reply twice under greedy decoding', async () => {
    const first = contentOf(await readLines(await postChat(chatwire.url)));
    const second = contentOf(await readLines(await postChat(chatwire.url)));
    expect(first).toHaveLength(24);
    expect(second).toBe(first);
  });

  it("serves Ollama's /api/chat, streamed and whole, without the persona", async () => {
    const body = {
      model: 'tiny-chat',
      messages: [{ role: 'user', content: 'hello' }],
      options: { temperature: 0 },
    };
    const streamed = await fetch(`${chatwire.url}/api/chat`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...body, options: { ...body.options, num_predict: 12 } }),
    });
    const lines = await readLines(streamed);
    expect(lines).toHaveLength(13);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'length', eval_count: 12 });

    const whole = await fetch(`${chatwire.url}/api/chat`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...body, stream: false, options: { ...body.options, num_predict: 12 } }),
    });
    expect(whole.status).toBe(200);
    const reply = (await whole.json()) as { message: { content: string }; done: boolean };
    expect(reply.done).toBe(true);
    expect(reply.message.content).toBe(contentOf(lines));
  });

  it("serves OpenAI's /v1/chat/completions as server-sent events with usage", async () => {
    const response = await fetch(`${chatwire.url}/v1/chat/completions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        model: 'tiny-chat',
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 8,
        temperature: 0,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text())
      .split('\n\n')
      // Each event is a frame of the generation: `id: <generation>-<n>`, then its data.
      .map((event) => event.split('\n').find((line) => line.startsWith('data: ')))
      .filter((line) => line !== undefined)
      .map((line) => line.slice('data: '.length));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    expect(text).toHaveLength(8);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1).usage).toMatchObject({ completion_tokens: 8 });
  });

  it('stops generating when the client goes away', async () => {
    const before = engineStatus(chatwire).generatedTokens;
    const client = new AbortController();
    const response = await postChat(
      chatwire.url,
      { options: { num_predict: 1000 } },
      { signal: client.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (received.split('\n').length < 4) received += new TextDecoder().decode((await reader.read()).value);
    client.abort();
    await eventually(() => engineStatus(chatwire).active === 0);
    // A thousand tokens were asked for; generation ended a few tokens after the disconnect.
    expect(engineStatus(chatwire).generatedTokens - before).toBeLessThan(200);
  });

  it('generates two streams at once on one model, each in its own sequence', async () => {
    const [first, second] = await Promise.all(
      [0, 1].map(async () => readLines(await postChat(chatwire.url, { options: { num_predict: 200 } }))),
    );
    for (const lines of [first, second]) {
      expect(lines?.at(-1)).toMatchObject({ done: true, eval_count: 200 });
    }
    expect(engineStatus(chatwire).peakActive).toBe(2);
  });

  it('shows the loaded model in /api/ps and /api/show', async () => {
    const ps = (await (await fetch(`${chatwire.url}/api/ps`)).json()) as {
      models: Array<Record<string, unknown>>;
    };
    expect(ps.models).toHaveLength(1);
    expect(ps.models[0]).toMatchObject({
      name: 'tiny-chat',
      context_length: 1024,
      size_vram: 0,
      details: { format: 'gguf', family: 'llama', quantization_level: 'F32' },
    });
    const show = await fetch(`${chatwire.url}/api/show`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ model: 'tiny-chat' }),
    });
    const details = (await show.json()) as { template: string; model_info: Record<string, unknown> };
    expect(details.template).toContain('<|im_start|>');
    expect(details.model_info['general.architecture']).toBe('llama');
  });

  it('constrains the reply to JSON when asked for format json', async () => {
    const response = await fetch(`${chatwire.url}/api/chat`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        model: 'tiny-chat',
        stream: false,
        format: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        options: { temperature: 0, num_predict: 12 },
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    const reply = (await response.json()) as { message: { content: string } };
    // A random model never finishes the object in 12 tokens, but the grammar decides how it starts.
    expect(reply.message.content).toMatch(/^\{ ?"name": ?"/);
  });

  it('answers 404 for a model it does not serve', async () => {
    const response = await fetch(`${chatwire.url}/api/chat`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: "model 'llama3.2' not found; the embedded engine serves 'tiny-chat'",
    });
  });
});
