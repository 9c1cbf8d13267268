import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SQLITE_FILE_NAME } from '../../../src/storage/open-conversation-store.js';
import { openSqlite } from '../../../src/storage/sqlite/open-sqlite.js';
import { type Child, startChild } from '../../support/child-gateway.js';
import { type CrashDatabase, openCrashDatabase } from '../../support/crash-database.js';
import { storeBackends } from '../../support/databases.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';

const TURNS = 20;
const TOKENS = ['one ', 'two ', 'three'];

let sim: OllamaSimulator;
let database: CrashDatabase;
let child: Child;
beforeAll(async () => {
  sim = await startOllamaSimulator();
  sim.behave({ tokens: TOKENS });
  database = await openCrashDatabase(storeBackends[0] as (typeof storeBackends)[0]);
  child = await startChild({ OLLAMA_HOST: sim.url, ...database.env });
}, 30_000);
afterAll(async () => {
  child?.process.kill('SIGKILL');
  await Promise.all([sim?.close(), database?.dispose()]);
});

/**
 * Found by the crash-consistency test: the done line went out before the reply was recorded complete, so a
 * kill -9 just after it left a reply the client had whole as interrupted, with no text when no periodic
 * save had happened yet. The status is read from the file the moment the done line arrives, in this process.
 */
it('a conversation reply is stored complete before its client gets the done line', async () => {
  const file = await openSqlite(join(database.env.CHATWIRE_DATA_DIR as string, SQLITE_FILE_NAME), {
    readonly: true,
  });
  try {
    const { id } = (await (
      await fetch(`${child.url}/v1/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { id: string };
    for (let turn = 0; turn < TURNS; turn++) {
      const response = await fetch(`${child.url}/v1/conversations/${id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: `turn ${turn}` }),
      });
      const lines = (await response.text()).trim().split('\n');
      expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ done: true });
      const [stored] = file.rows(
        `select status, content from messages where conversation_id = '${id}' order by seq desc limit 1`,
      );
      expect(stored, `turn ${turn}`).toEqual({ status: 'complete', content: TOKENS.join('') });
    }
  } finally {
    file.close();
  }
}, 30_000);
