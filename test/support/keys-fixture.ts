import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyLimits } from '../../src/keys/key-store.js';
import { openStorage, type Storage } from '../../src/storage/open-conversation-store.js';
import { type OllamaSimulator, startOllamaSimulator } from './ollama-simulator.js';
import { type RunningGateway, startGateway } from './start-gateway.js';

/** A gateway on a SQLite file that the test also opens, to create and revoke keys as `chatwire keys` does. */
export interface KeysFixture {
  sim: OllamaSimulator;
  chatwire: RunningGateway;
  storage: Storage;
  /** The gateway's data folder, for a second gateway on the same database. */
  dataDir: string;
  logLines: Array<Record<string, unknown>>;
  createKey(name: string, options?: { admin?: boolean; limits?: Partial<KeyLimits> }): Promise<string>;
  /** Another gateway on the same database and simulator, as a second instance would be; the test closes it. */
  secondGateway(env?: Record<string, string>): Promise<RunningGateway>;
  close(): Promise<void>;
}

/** Keys are re-read every 100 ms, so a test sees a change take effect at once. */
export async function startWithKeys(
  keys: Array<{ name: string; admin?: boolean }>,
  env: Record<string, string> = {},
): Promise<KeysFixture & { keys: Record<string, string> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chatwire-keys-'));
  const storage = await openStorage({ dataDir });
  const createKey: KeysFixture['createKey'] = async (name, options = {}) => {
    const limits = { rpm: null, streams: null, tokensPerDay: null, ...options.limits };
    return (await storage.keys.create({ name, admin: options.admin === true, limits })).key;
  };
  const created: Record<string, string> = {};
  for (const key of keys) created[key.name] = await createKey(key.name, { admin: key.admin === true });
  const sim = await startOllamaSimulator();
  const logLines: Array<Record<string, unknown>> = [];
  const chatwire = await startGateway(
    sim.url,
    { DATABASE_URL: '', CHATWIRE_DATA_DIR: dataDir, CHATWIRE_KEYS_REFRESH_MS: '100', ...env },
    { logLines },
  );
  return {
    sim,
    chatwire,
    storage,
    dataDir,
    logLines,
    keys: created,
    createKey,
    secondGateway: (more = {}) =>
      startGateway(sim.url, {
        DATABASE_URL: '',
        CHATWIRE_DATA_DIR: dataDir,
        CHATWIRE_KEYS_REFRESH_MS: '100',
        ...more,
      }),
    async close() {
      await chatwire.close();
      await sim.close();
      await storage.conversations.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
