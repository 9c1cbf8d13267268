import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { storeBackends, type TestDatabase } from '../support/databases.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { errorOf, type RunningGateway, readLines, startGateway } from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => sim.reset());

function storageEnv(database: TestDatabase): Record<string, string> {
  const { databaseUrl, dataDir } = database.options;
  return { CHATWIRE_DATA_DIR: dataDir, ...(databaseUrl !== undefined && { DATABASE_URL: databaseUrl }) };
}

async function api(method: string, path: string, body?: unknown, init: RequestInit = {}) {
  return fetch(`${chatwire.url}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
    ...init,
  });
}

async function newConversation(
  body: Record<string, unknown> = {},
): Promise<{ id: string; title: string | null }> {
  const response = await api('POST', '/v1/conversations', body);
  expect(response.status).toBe(201);
  return response.json() as Promise<{ id: string; title: string | null }>;
}

interface MessageJson {
  role: string;
  content: string;
  status: string;
  error: string | null;
  completion_tokens: number | null;
}

async function messagesOf(id: string): Promise<MessageJson[]> {
  const response = await api('GET', `/v1/conversations/${id}`);
  return ((await response.json()) as { messages: MessageJson[] }).messages;
}

for (const backend of storeBackends) {
  describe.skipIf(backend.skipReason !== undefined)(`conversations on ${backend.title}`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await backend.createDatabase();
      chatwire = await startGateway(sim.url, {
        CHATWIRE_SYSTEM_PROMPT: 'You are terse.',
        CHATWIRE_CONTEXT_TOKENS: '100000',
        CHATWIRE_ALLOWED_MODELS: '*',
        ...storageEnv(database),
      });
    });
    afterAll(async () => {
      await chatwire.close();
      await database.dispose();
    });

    it('are created for the default persona, listed newest first with a cursor, renamed and deleted', async () => {
      const first = await newConversation({ title: 'first' });
      const second = await newConversation();
      const third = await newConversation();
      expect(second.title).toBeNull();

      const page1 = (await (await api('GET', '/v1/conversations?limit=2')).json()) as {
        conversations: Array<{ id: string; persona: string }>;
        next_cursor: string;
      };
      expect(page1.conversations.map((c) => c.id)).toEqual([third.id, second.id]);
      expect(page1.conversations[0]?.persona).toBe('default');
      const page2 = (await (
        await api('GET', `/v1/conversations?limit=2&cursor=${page1.next_cursor}`)
      ).json()) as {
        conversations: Array<{ id: string }>;
      };
      expect(page2.conversations[0]?.id).toBe(first.id);

      const renamed = await api('PATCH', `/v1/conversations/${second.id}`, { title: 'renamed' });
      expect(((await renamed.json()) as { title: string }).title).toBe('renamed');
      expect((await api('DELETE', `/v1/conversations/${second.id}`)).status).toBe(204);
      expect((await api('GET', `/v1/conversations/${second.id}`)).status).toBe(404);
    });

    it('answer 404 for unknown ids and 400 naming the field for bad bodies', async () => {
      const missing = await api('GET', '/v1/conversations/nope');
      expect(missing.status).toBe(404);
      expect(await errorOf(missing)).toBe("conversation 'nope' not found");
      expect((await api('POST', '/v1/conversations/nope/messages', { content: 'hi' })).status).toBe(404);
      expect((await api('DELETE', '/v1/conversations/nope')).status).toBe(404);
      const { id } = await newConversation();
      const bad = await api('POST', `/v1/conversations/${id}/messages`, { text: 'hi' });
      expect(bad.status).toBe(400);
      expect(await errorOf(bad)).toMatch(/content is required|must NOT have additional properties/);
      const unknownPersona = await api('POST', '/v1/conversations', { persona: 'pirate' });
      expect(unknownPersona.status).toBe(400);
      expect(await errorOf(unknownPersona)).toBe("persona 'pirate' does not exist; personas: default");
      expect((await api('GET', '/v1/conversations?limit=500')).status).toBe(400);
    });

    it('stream a reply exactly like /v1/chat and keep both turns, titled from the first message', async () => {
      const { id } = await newConversation();
      sim.behave({
        tokens: ['Blue', ' light', ' scatters.'],
        finalMetrics: { prompt_eval_count: 12, eval_count: 3 },
      });
      const response = await api('POST', `/v1/conversations/${id}/messages`, {
        content: 'Why is the sky blue?',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-ndjson');
      const lines = await readLines(response);
      expect(lines.at(-1)).toMatchObject({ done: true });
      await vi.waitFor(async () => expect((await messagesOf(id))[1]?.status).toBe('complete'));
      const messages = await messagesOf(id);
      expect(messages).toMatchObject([
        { role: 'user', content: 'Why is the sky blue?', status: 'complete' },
        { role: 'assistant', content: 'Blue light scatters.', status: 'complete', completion_tokens: 3 },
      ]);
      const conversation = (await (await api('GET', `/v1/conversations/${id}`)).json()) as { title: string };
      expect(conversation.title).toBe('Why is the sky blue?');
    });

    it('send the stored history after the persona prompt', async () => {
      const { id } = await newConversation();
      sim.behave({ tokens: ['Paris.'] });
      await (
        await api('POST', `/v1/conversations/${id}/messages`, {
          content: 'Capital of France?',
          stream: false,
        })
      ).text();
      sim.behave({ tokens: ['About 2 million.'] });
      const response = await api('POST', `/v1/conversations/${id}/messages`, {
        content: 'Population?',
        stream: false,
      });
      expect(((await response.json()) as { message: { content: string } }).message.content).toBe(
        'About 2 million.',
      );
      const body = sim.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
      expect(body.messages).toEqual([
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: 'Paris.' },
        { role: 'user', content: 'Population?' },
      ]);
    });

    it('regenerate the last reply in its place, on another model if asked, and refuse with nothing to answer', async () => {
      const { id } = await newConversation();
      expect((await api('POST', `/v1/conversations/${id}/regenerate`)).status).toBe(409);
      sim.behave({ tokens: ['Paris.'] });
      await (
        await api('POST', `/v1/conversations/${id}/messages`, { content: 'Capital?', stream: false })
      ).text();
      sim.behave({ tokens: ['It is ', 'Paris.'] });
      const again = await api('POST', `/v1/conversations/${id}/regenerate`, { model: 'qwen2.5:7b' });
      expect(again.status).toBe(200);
      expect((await readLines(again)).at(-1)).toMatchObject({ done: true });
      const body = sim.requests.at(-1)?.body as { model: string; messages: Array<{ content: string }> };
      expect(body.model).toBe('qwen2.5:7b');
      // The reply being replaced is not part of the history it is replaced from.
      expect(body.messages.map((message) => message.content)).toEqual(['You are terse.', 'Capital?']);
      await vi.waitFor(async () => expect((await messagesOf(id))[1]?.status).toBe('complete'));
      expect(await messagesOf(id)).toMatchObject([
        { role: 'user', content: 'Capital?' },
        { role: 'assistant', content: 'It is Paris.', status: 'complete' },
      ]);
      const bad = await api('POST', `/v1/conversations/${id}/regenerate`, { model: '' });
      expect(bad.status).toBe(400);
      expect(await errorOf(bad)).toMatch(/model/);
    });

    it('keep the user message and record a failed reply when the upstream refuses', async () => {
      const { id } = await newConversation();
      sim.behave({ preError: { status: 503, error: 'server busy' } });
      const response = await api('POST', `/v1/conversations/${id}/messages`, { content: 'hello?' });
      expect(response.status).toBe(503);
      expect(await messagesOf(id)).toMatchObject([
        { role: 'user', content: 'hello?', status: 'complete' },
        { role: 'assistant', content: '', status: 'failed', error: 'server busy' },
      ]);
    });

    it('record a reply that failed mid-stream with the text before the failure', async () => {
      const { id } = await newConversation();
      sim.behave({
        tokens: ['a', 'b', 'c'],
        midStream: { afterChunks: 2, mode: 'error-line', message: 'runner died' },
      });
      const lines = await readLines(await api('POST', `/v1/conversations/${id}/messages`, { content: 'go' }));
      expect(lines.at(-1)).toEqual({ error: 'runner died' });
      await vi.waitFor(async () => expect((await messagesOf(id))[1]?.status).toBe('failed'));
      expect((await messagesOf(id))[1]).toMatchObject({ content: 'ab', error: 'runner died' });
    });

    it('finish the reply in the store when the client leaves mid-stream (detach, the default)', async () => {
      const { id } = await newConversation();
      const tokens = Array.from({ length: 40 }, (_, i) => `t${i} `);
      sim.behave({ tokens, tokenDelayMs: 5 });
      const controller = new AbortController();
      const response = await api(
        'POST',
        `/v1/conversations/${id}/messages`,
        { content: 'count' },
        { signal: controller.signal },
      );
      expect(response.headers.get('chatwire-generation-id')).toMatch(/^gen_[0-9a-f]{24}$/);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      // The reply runs on for 40 tokens after the client left: waitFor's default second is not enough on a busy machine.
      await vi.waitFor(async () => expect((await messagesOf(id))[1]?.status).toBe('complete'), {
        timeout: 5000,
      });
      expect((await messagesOf(id))[1]?.content).toBe(tokens.join(''));
      expect(sim.aborts).toEqual([]);
    });

    it('record an interrupted reply with a prefix of what the client received when it leaves a reply it asked to abort', async () => {
      const { id } = await newConversation();
      sim.behave({ tokens: Array.from({ length: 300 }, (_, i) => `t${i} `), tokenDelayMs: 5 });
      const controller = new AbortController();
      const response = await api(
        'POST',
        `/v1/conversations/${id}/messages`,
        { content: 'count' },
        {
          signal: controller.signal,
          headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'abort' },
        },
      );
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let received = '';
      while (received.split('\n').length < 6)
        received += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      await sim.nextAbort();
      await vi.waitFor(async () => expect((await messagesOf(id))[1]?.status).toBe('interrupted'));
      const clientText = received
        .split('\n')
        .filter((line) => line.endsWith('}'))
        .map((line) => (JSON.parse(line) as { message: { content: string } }).message.content)
        .join('');
      const stored = (await messagesOf(id))[1] as MessageJson;
      expect(stored.content.length).toBeGreaterThan(0);
      expect(clientText.startsWith(stored.content) || stored.content.startsWith(clientText)).toBe(true);
    });

    it('refuse a second turn while a reply is streaming, with 409', async () => {
      const { id } = await newConversation();
      sim.behave({ tokens: ['slow', ' reply'], tokenDelayMs: 100 });
      const first = api('POST', `/v1/conversations/${id}/messages`, { content: 'one' });
      await sim.nextRequest();
      const second = await api('POST', `/v1/conversations/${id}/messages`, { content: 'two' });
      expect(second.status).toBe(409);
      expect(await errorOf(second)).toMatch(/already generating a reply/);
      await (await first).text();
      await vi.waitFor(async () =>
        expect((await messagesOf(id)).map((m) => m.content)).toEqual(['one', 'slow reply']),
      );
    });

    it('list the personas', async () => {
      const body = (await (await api('GET', '/v1/personas')).json()) as {
        personas: Array<{ name: string; model: string }>;
      };
      expect(body.personas).toEqual([{ name: 'default', model: 'qwen2.5:7b' }]);
    });
  });
}

describe('history trimming', () => {
  it('keeps the system prompt and the newest turns within CHATWIRE_CONTEXT_TOKENS', async () => {
    const small = await startGateway(sim.url, {
      CHATWIRE_SYSTEM_PROMPT: 'You are terse.',
      CHATWIRE_CONTEXT_TOKENS: '256',
    });
    try {
      const response = await fetch(`${small.url}/v1/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const { id } = (await response.json()) as { id: string };
      for (const content of ['x'.repeat(400), 'y'.repeat(400), 'z'.repeat(400)]) {
        sim.behave({ tokens: ['ok'] });
        await (
          await fetch(`${small.url}/v1/conversations/${id}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ content, stream: false }),
          })
        ).text();
      }
      const body = sim.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
      expect(body.messages[0]).toEqual({ role: 'system', content: 'You are terse.' });
      expect(body.messages.at(-1)?.content).toBe('z'.repeat(400));
      expect(body.messages.some((message) => message.content.startsWith('y'))).toBe(true);
      expect(body.messages.some((message) => message.content.startsWith('x'))).toBe(false);
    } finally {
      await small.close();
    }
  });
});

describe('personas from the config file', () => {
  it('are listed, chosen by conversations and by /v1/chat', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'chatwire-personas-')), 'chatwire.json');
    writeFileSync(
      file,
      JSON.stringify({ personas: { pirate: { system_prompt: 'Arr.', model: 'llama3.2' } } }),
    );
    const withPirate = await startGateway(sim.url, {
      CHATWIRE_CONFIG_FILE: file,
      CHATWIRE_ALLOWED_MODELS: '*',
    });
    try {
      const listed = (await (await fetch(`${withPirate.url}/v1/personas`)).json()) as {
        personas: Array<{ name: string }>;
      };
      expect(listed.personas.map((persona) => persona.name)).toEqual(['default', 'pirate']);
      const created = await fetch(`${withPirate.url}/v1/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ persona: 'pirate' }),
      });
      const { id, persona } = (await created.json()) as { id: string; persona: string };
      expect(persona).toBe('pirate');
      await (
        await fetch(`${withPirate.url}/v1/conversations/${id}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ content: 'hi', stream: false }),
        })
      ).text();
      expect(sim.requests.at(-1)?.body).toMatchObject({
        model: 'llama3.2',
        messages: [{ role: 'system', content: 'Arr.' }, { role: 'user' }],
      });
      const chat = await fetch(`${withPirate.url}/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          persona: 'pirate',
          stream: false,
          messages: [{ role: 'user', content: 'yo' }],
        }),
      });
      expect(chat.status).toBe(200);
      expect(sim.requests.at(-1)?.body).toMatchObject({
        model: 'llama3.2',
        messages: [{ role: 'system', content: 'Arr.' }, { role: 'user' }],
      });
    } finally {
      await withPirate.close();
    }
  });
});
