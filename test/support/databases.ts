import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ConversationStore } from '../../src/storage/conversation-store.js';
import {
  type OpenStoreOptions,
  openConversationStore,
  type StoreLogger,
} from '../../src/storage/open-conversation-store.js';

/**
 * The databases the storage tests run against: SQLite always, PostgreSQL when
 * CHATWIRE_TEST_DATABASE_URL names one (scripts/test-postgres.sh starts a throwaway server and sets it).
 *
 *   for (const backend of storeBackends) {
 *     describe.skipIf(backend.skipReason !== undefined)(backend.title, () => { … });
 *   }
 */
export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  /** The name, and why the tests are skipped when they are: the reason shows in the test report. */
  title: string;
  /** Undefined when this backend's tests run. */
  skipReason: string | undefined;
  /** An empty database of the test's own, that no other test or run sees. */
  createDatabase(): Promise<TestDatabase>;
}

export interface TestDatabase {
  /** What `openConversationStore` takes to reach this database. */
  options: Omit<OpenStoreOptions, 'logger'>;
  /** A store on it; may be called again (after closing) to test reopening. */
  open(logger?: StoreLogger): Promise<ConversationStore>;
  /** Closes every store opened on it and deletes the database. */
  dispose(): Promise<void>;
}

const postgresUrl = process.env.CHATWIRE_TEST_DATABASE_URL || undefined;
const postgresSkipReason =
  postgresUrl === undefined
    ? 'CHATWIRE_TEST_DATABASE_URL is not set; scripts/test-postgres.sh runs them on a throwaway server'
    : undefined;
if (postgresSkipReason !== undefined) console.info(`PostgreSQL store tests skipped: ${postgresSkipReason}`);

export const storeBackends: StoreBackend[] = [
  {
    name: 'sqlite',
    title: 'sqlite',
    skipReason: undefined,
    async createDatabase() {
      const dataDir = await mkdtemp(join(tmpdir(), 'chatwire-store-'));
      return trackStores({ dataDir }, () => rm(dataDir, { recursive: true, force: true }));
    },
  },
  {
    name: 'postgres',
    title: postgresSkipReason === undefined ? 'postgres' : `postgres (skipped: ${postgresSkipReason})`,
    skipReason: postgresSkipReason,
    async createDatabase() {
      if (postgresUrl === undefined) throw new Error(postgresSkipReason);
      // A schema per test is as isolated as a database for these tables, and far quicker to make.
      const schema = `chatwire_test_${randomBytes(6).toString('hex')}`;
      await runAdmin(postgresUrl, `create schema ${schema}`);
      const url = new URL(postgresUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return trackStores({ databaseUrl: url.toString(), dataDir: tmpdir() }, () =>
        runAdmin(postgresUrl, `drop schema ${schema} cascade`),
      );
    },
  },
];

function trackStores(options: TestDatabase['options'], remove: () => Promise<void>): TestDatabase {
  const opened: ConversationStore[] = [];
  return {
    options,
    async open(logger) {
      const store = await openConversationStore({ ...options, logger });
      opened.push(store);
      return store;
    },
    async dispose() {
      await Promise.all(opened.map((store) => store.close()));
      await remove();
    },
  };
}

// Shared by the tests of a file, so each does not pay for its own connection; idle connections close
// by themselves and do not keep the worker alive.
let adminPool: pg.Pool | undefined;

async function runAdmin(url: string, statement: string): Promise<void> {
  adminPool ??= new pg.Pool({
    connectionString: url,
    max: 2,
    idleTimeoutMillis: 1000,
    allowExitOnIdle: true,
  });
  await adminPool.query(statement);
}
