import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/storage/sqlite/open-sqlite.js';
import { firstValue } from '../../src/storage/sqlite/sqlite-connection.js';
import { type Child, startChild } from '../support/child-gateway.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';

const CYCLES = 8;
const CONVERSATIONS_PER_CYCLE = 12;

/**
 * The guard against a driver that crashes the process (better-sqlite3 12 aborted Node 24 in a GC
 * finaliser, within a second of opening SQLite): start the real server again and again on one data
 * folder, give it conversation load, stop it with SIGTERM, and demand a clean exit every time.
 */
describe(`${CYCLES} start, load, SIGTERM cycles on Node ${process.versions.node}`, () => {
  let sim: OllamaSimulator;
  let dataDir: string;
  let child: Child | undefined;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
    sim.behave({ tokens: ['one ', 'two ', 'three'] });
    dataDir = mkdtempSync(join(tmpdir(), 'chatwire-cycles-'));
  });
  afterEach(() => {
    child?.process.kill('SIGKILL');
    child = undefined;
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 0 each time with the database closed cleanly, and keeps every message', async () => {
    const created: string[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      child = await startChild({ OLLAMA_HOST: sim.url, CHATWIRE_DATA_DIR: dataDir });
      const { url } = child;
      const ids = await Promise.all(
        Array.from({ length: CONVERSATIONS_PER_CYCLE }, async (_, index) => {
          const id = await createConversation(url);
          // Two turns each: the second re-reads the first from the database.
          for (const turn of [1, 2])
            expect(await sendMessage(url, id, `c${cycle} q${index} t${turn}`)).toBe(200);
          return id;
        }),
      );
      created.push(...ids);
      // Every conversation so far, those of earlier runs too, reads back whole.
      for (const id of created) expect(await messageCount(url, id)).toBe(4);

      const exited = once(child.process, 'exit');
      child.process.kill('SIGTERM');
      expect(await exited, `cycle ${cycle}`).toEqual([0, null]);
      child = undefined;
      // SQLite deletes the write-ahead log when the last connection closes cleanly.
      expect(existsSync(join(dataDir, 'chatwire.db-wal')), `cycle ${cycle}: WAL left behind`).toBe(false);
    }

    const file = await openSqlite(join(dataDir, 'chatwire.db'), { readonly: true });
    try {
      expect(firstValue(file, 'pragma integrity_check')).toBe('ok');
      expect(firstValue(file, 'select count(*) from messages')).toBe(CYCLES * CONVERSATIONS_PER_CYCLE * 4);
    } finally {
      file.close();
    }
  }, 120_000);
});

async function createConversation(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function sendMessage(url: string, id: string, content: string): Promise<number> {
  const response = await fetch(`${url}/v1/conversations/${id}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content, stream: false }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function messageCount(url: string, id: string): Promise<number> {
  const response = await fetch(`${url}/v1/conversations/${id}`);
  return ((await response.json()) as { messages: unknown[] }).messages.length;
}
