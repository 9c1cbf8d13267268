// How the embedded engine fails: a model that is not there, every sequence busy, a request it cannot serve,
// and generation breaking off mid-stream. Each the way the other upstreams fail.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../src/upstream/embedded/load-embedded-model.js';
import {
  embeddedEngineAvailable,
  engineStatus,
  eventually,
  startEmbeddedGateway,
  tinyModelFolder,
} from '../support/gguf/embedded-engine.js';
import { errorOf, postChat, type RunningGateway, readLines } from '../support/start-gateway.js';

const available = await embeddedEngineAvailable('embedded engine failure tests');

let model: Awaited<ReturnType<typeof tinyModelFolder>>;
beforeAll(async () => {
  model = await tinyModelFolder();
});
afterAll(() => model?.remove());

/** Reads a stream until it has `lines` lines, then leaves the rest unread. */
async function readFirstLines(response: Response, lines: number): Promise<ReadableStreamDefaultReader> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (text.split('\n').length <= lines) text += new TextDecoder().decode((await reader.read()).value);
  return reader;
}

// Checked before node-llama-cpp is even imported, so this runs wherever the suite does.
describe('a model file that is not there', () => {
  let chatwire: RunningGateway;
  beforeAll(async () => {
    chatwire = await startEmbeddedGateway(join(model.dir, 'missing.gguf'));
  });
  afterAll(() => chatwire?.close());

  it('answers 503 saying which file is missing, on chat and readiness', async () => {
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toBe(
      `model file not found: ${join(model.dir, 'missing.gguf')} (set CHATWIRE_MODEL_FILE to a .gguf file)`,
    );
    const ready = await fetch(`${chatwire.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await errorOf(ready)).toMatch(/^model file not found/);
    const tags = (await (await fetch(`${chatwire.url}/api/tags`)).json()) as { models: unknown[] };
    expect(tags.models).toEqual([]);
  });

  it('tells how to pull a model named by reference', async () => {
    const remote = await startEmbeddedGateway('hf:chatwire/tiny-GGUF:Q4_K_M', {
      CHATWIRE_MODELS_DIR: model.dir,
    });
    try {
      const response = await postChat(remote.url);
      expect(response.status).toBe(503);
      expect(await errorOf(response)).toMatch(
        /^model hf:chatwire\/tiny-GGUF:Q4_K_M is not downloaded \(looked in .*\): run `chatwire pull hf:chatwire\/tiny-GGUF:Q4_K_M`, or start with `chatwire serve --pull`$/,
      );
    } finally {
      await remote.close();
    }
  });
});

// Runs only where the optional dependency is missing: choosing the engine then says how to get it.
describe.skipIf(available)('without node-llama-cpp installed', () => {
  it('answers 503 with the instruction to install it', async () => {
    const chatwire = await startEmbeddedGateway(model.modelPath);
    try {
      const response = await postChat(chatwire.url);
      expect(response.status).toBe(503);
      expect(await errorOf(response)).toMatch(
        /needs node-llama-cpp, which is not installed: run `npm install node-llama-cpp`/,
      );
    } finally {
      await chatwire.close();
    }
  });
});

describe.skipIf(!available)('every sequence busy', () => {
  let chatwire: RunningGateway;
  beforeAll(async () => {
    chatwire = await startEmbeddedGateway(model.modelPath, {
      CHATWIRE_PARALLEL: '1',
      CHATWIRE_MAX_QUEUE: '1',
      CHATWIRE_ALLOWED_OPTIONS: 'num_predict',
    });
  });
  afterAll(() => chatwire?.close());

  it('queues one request, refuses the next with 503 and Retry-After, then serves the queued one', async () => {
    const client = new AbortController();
    const long = await postChat(chatwire.url, { options: { num_predict: 1000 } }, { signal: client.signal });
    await readFirstLines(long, 2);
    const queued = postChat(chatwire.url, { options: { num_predict: 5 } });
    await eventually(() => engineStatus(chatwire).waiting === 1);

    const refused = await postChat(chatwire.url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await errorOf(refused)).toMatch(/^embedded engine busy: 1 stream is generating and 1 waiting/);
    const openAi = await fetch(`${chatwire.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(openAi.status).toBe(503);
    expect(openAi.headers.get('retry-after')).toBe('1');

    client.abort();
    const lines = await readLines(await queued);
    expect(lines.at(-1)).toMatchObject({ done: true, eval_count: 5 });
  });

  it('refuses what it cannot run with 400 before waiting for a sequence', async () => {
    const response = await fetch(`${chatwire.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny-chat',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'function', function: { name: 'now', parameters: { type: 'object' } } }],
      }),
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toBe('the embedded engine does not support tools');
  });
});

describe.skipIf(!available)('generation breaking off mid-stream', () => {
  let chatwire: RunningGateway;
  beforeAll(async () => {
    chatwire = await startEmbeddedGateway(model.modelPath, { CHATWIRE_ALLOWED_OPTIONS: 'num_predict' });
  });
  afterAll(() => chatwire?.close());

  it('ends the stream with one in-band error line', async () => {
    const response = await postChat(chatwire.url, { options: { num_predict: 1000 } });
    expect(response.status).toBe(200);
    const reader = await readFirstLines(response, 3);
    // As if the runner crashed: the context the stream generates in goes away under it.
    const engine = chatwire.gateway.upstream as unknown as { loading: Promise<LoadedModel> };
    await (await engine.loading).context.dispose();
    let rest = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      rest += new TextDecoder().decode(read.value);
    }
    const last = JSON.parse(rest.trimEnd().split('\n').at(-1) as string);
    expect(last).toEqual({ error: 'embedded llama.cpp failed while generating: Object is disposed' });
  });
});
