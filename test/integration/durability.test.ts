import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/storage/sqlite/open-sqlite.js';
import { firstValue } from '../../src/storage/sqlite/sqlite-connection.js';
import { type Child, startChild } from '../support/child-gateway.js';
import { storeBackends } from '../support/databases.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';

const STREAMS = 50;

let sim: OllamaSimulator;
beforeAll(async () => {
  sim = await startOllamaSimulator();
  sim.behave({ tokens: Array.from({ length: 400 }, (_, i) => `w${i} `), tokenDelayMs: 20 });
});
afterAll(async () => {
  await sim.close();
});

async function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Reads a stream until the connection dies, keeping the text of every complete line received. */
async function readUntilCut(response: Response, onTokens: (count: number) => void): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let text = '';
  let tokens = 0;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffer += decoder.decode(read.value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const chunk = JSON.parse(line) as { message?: { content: string }; error?: string };
        if (chunk.error !== undefined) continue;
        text += chunk.message?.content ?? '';
        tokens++;
      }
      onTokens(tokens);
    }
  } catch {
    // the gateway was killed: what arrived before is what counts
  }
  return text;
}

/**
 * The durability contract: kill -9 in the middle of 50 streams, restart on the same storage, and nothing is
 * lost or inconsistent.
 */
async function killMidStreamAndRestart(env: Record<string, string>) {
  let child: Child = await startChild(env);
  children.push(child);
  const ids: string[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const response = await post(child.url, '/v1/conversations', {});
    ids.push(((await response.json()) as { id: string }).id);
  }
  let ready = 0;
  let allReady: () => void = () => {};
  const everyStreamHasTokens = new Promise<void>((resolve) => {
    allReady = resolve;
  });
  const received = ids.map(async (id, index) => {
    const response = await post(child.url, `/v1/conversations/${id}/messages`, {
      content: `question ${index}`,
    });
    let counted = false;
    return readUntilCut(response, (tokens) => {
      // 40 tokens at 20 ms apart is past the first periodic save of the reply.
      if (!counted && tokens >= 40) {
        counted = true;
        if (++ready === STREAMS) allReady();
      }
    });
  });
  await everyStreamHasTokens;
  const exited = once(child.process, 'exit');
  child.process.kill('SIGKILL');
  await exited;
  const clientTexts = await Promise.all(received);

  child = await startChild(env);
  children.push(child);
  try {
    let nonEmpty = 0;
    for (const [index, id] of ids.entries()) {
      const response = await fetch(`${child.url}/v1/conversations/${id}`);
      expect(response.status).toBe(200);
      const { messages } = (await response.json()) as {
        messages: Array<{ role: string; content: string; status: string }>;
      };
      expect(messages[0]).toMatchObject({ role: 'user', content: `question ${index}`, status: 'complete' });
      expect(messages).toHaveLength(2);
      const reply = messages[1] as { role: string; content: string; status: string };
      expect(reply.role).toBe('assistant');
      expect(['complete', 'interrupted']).toContain(reply.status);
      expect((clientTexts[index] as string).startsWith(reply.content)).toBe(true);
      if (reply.content !== '') nonEmpty++;
    }
    // Saves happen every 500 ms or 50 tokens, and every stream was past that when it was killed.
    expect(nonEmpty).toBe(STREAMS);
  } finally {
    child.process.kill('SIGKILL');
  }
}

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.process.kill('SIGKILL');
});

for (const backend of storeBackends) {
  describe.skipIf(backend.skipReason !== undefined)(`durability on ${backend.title}`, () => {
    it('kill -9 during 50 streams loses nothing and leaves the database consistent', async () => {
      const database = await backend.createDatabase();
      try {
        const { databaseUrl, dataDir } = database.options;
        await killMidStreamAndRestart({
          OLLAMA_HOST: sim.url,
          CHATWIRE_DATA_DIR: dataDir,
          ...(databaseUrl !== undefined && { DATABASE_URL: databaseUrl }),
        });
        if (backend.name === 'sqlite') {
          const file = await openSqlite(join(dataDir, 'chatwire.db'), { readonly: true });
          try {
            expect(firstValue(file, 'pragma integrity_check')).toBe('ok');
          } finally {
            file.close();
          }
        }
      } finally {
        await database.dispose();
      }
    }, 60_000);

    it('SIGTERM after the grace period stores the reply as interrupted, with what the client received', async () => {
      const database = await backend.createDatabase();
      try {
        const { databaseUrl, dataDir } = database.options;
        const env = {
          OLLAMA_HOST: sim.url,
          CHATWIRE_DATA_DIR: dataDir,
          CHATWIRE_SHUTDOWN_GRACE_MS: '200',
          ...(databaseUrl !== undefined && { DATABASE_URL: databaseUrl }),
        };
        let child = await startChild(env);
        children.push(child);
        const { id } = (await (await post(child.url, '/v1/conversations', {})).json()) as { id: string };
        const response = await post(child.url, `/v1/conversations/${id}/messages`, { content: 'count' });
        const exited = once(child.process, 'exit');
        let signalled = false;
        const text = readUntilCut(response, (tokens) => {
          // Several lines can arrive in one read, so the count may step past 5.
          if (!signalled && tokens >= 5) {
            signalled = true;
            child.process.kill('SIGTERM');
          }
        });
        const clientText = await text;
        expect((await exited)[0]).toBe(0);
        child = await startChild(env);
        children.push(child);
        const { messages } = (await (await fetch(`${child.url}/v1/conversations/${id}`)).json()) as {
          messages: Array<{ content: string; status: string; error: string | null }>;
        };
        expect(messages[1]).toMatchObject({ status: 'interrupted', error: 'chatwire is shutting down' });
        expect(clientText.startsWith(messages[1]?.content ?? '')).toBe(true);
        expect(messages[1]?.content.length).toBeGreaterThan(0);
      } finally {
        await database.dispose();
      }
    }, 30_000);
  });
}
