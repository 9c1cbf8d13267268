import { join } from 'node:path';
import pg from 'pg';
import { SQLITE_FILE_NAME } from '../../src/storage/open-conversation-store.js';
import { openSqlite } from '../../src/storage/sqlite/open-sqlite.js';
import type { StoreBackend } from './databases.js';

export interface ConversationRow {
  id: string;
  title: string | null;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  role: string;
  content: string;
  status: string;
  error: string | null;
}

/** The rows as they are, read past the gateway, so nothing its API hides (orphans, gaps) escapes. */
export interface DatabaseSnapshot {
  conversations: ConversationRow[];
  /** By conversation, then seq. */
  messages: MessageRow[];
}

/** One database that a gateway is killed on again and again, and what the test reads from it directly. */
export interface CrashDatabase {
  /** What `chatwire serve` needs to use it. */
  env: Record<string, string>;
  /** The database's own consistency checks; each problem found, described. Empty: all passed. */
  integrity(): Promise<string[]>;
  /** What the integrity check covers on this database, for the test's report. */
  integrityCoverage: string;
  snapshot(): Promise<DatabaseSnapshot>;
  dispose(): Promise<void>;
}

const CONVERSATIONS = 'select id, title from conversations order by id';
const MESSAGES =
  'select id, conversation_id, seq, role, content, status, error from messages order by conversation_id, seq';

export async function openCrashDatabase(backend: StoreBackend): Promise<CrashDatabase> {
  const database = await backend.createDatabase();
  const { databaseUrl, dataDir } = database.options;
  if (databaseUrl === undefined) return sqliteDatabase(dataDir, database.dispose);
  return postgresDatabase(databaseUrl, dataDir, database.dispose);
}

async function sqliteDatabase(dataDir: string, dispose: () => Promise<void>): Promise<CrashDatabase> {
  const file = join(dataDir, SQLITE_FILE_NAME);
  // A connection of its own per look: it sees the file as a process opening it after the crash would.
  async function read<T>(use: (rows: (sql: string) => Record<string, unknown>[]) => T): Promise<T> {
    const connection = await openSqlite(file, { readonly: true });
    try {
      return use((sql) => connection.rows(sql));
    } finally {
      connection.close();
    }
  }
  return {
    env: { CHATWIRE_DATA_DIR: dataDir },
    integrityCoverage: 'SQLite pragma integrity_check and foreign_key_check',
    integrity: () =>
      read((rows) => {
        const integrity = rows('pragma integrity_check').map((row) => String(Object.values(row)[0]));
        const problems = integrity.join() === 'ok' ? [] : integrity.map((line) => `integrity_check: ${line}`);
        for (const row of rows('pragma foreign_key_check'))
          problems.push(`foreign_key_check: ${JSON.stringify(row)}`);
        return problems;
      }),
    snapshot: () =>
      read((rows) => ({
        conversations: rows(CONVERSATIONS) as unknown as ConversationRow[],
        messages: rows(MESSAGES) as unknown as MessageRow[],
      })),
    dispose,
  };
}

async function postgresDatabase(
  url: string,
  dataDir: string,
  dispose: () => Promise<void>,
): Promise<CrashDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const amcheck = await amcheckReason(pool);
  return {
    env: { CHATWIRE_DATA_DIR: dataDir, DATABASE_URL: url },
    integrityCoverage:
      amcheck === undefined
        ? 'PostgreSQL amcheck: verify_heapam on every table, bt_index_check (heapallindexed) on every index'
        : `PostgreSQL amcheck not used (${amcheck}); logical invariants only`,
    async integrity() {
      if (amcheck !== undefined) return [];
      const problems: string[] = [];
      const { rows: tables } = await pool.query<{ name: string }>(
        `select c.oid::regclass::text as name from pg_class c
         where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'`,
      );
      for (const { name } of tables) {
        const { rows } = await pool.query('select * from public.verify_heapam($1::regclass)', [name]);
        for (const row of rows) problems.push(`verify_heapam ${name}: ${JSON.stringify(row)}`);
      }
      const { rows: indexes } = await pool.query<{ name: string }>(
        `select c.oid::regclass::text as name from pg_class c
         where c.relnamespace = current_schema()::regnamespace and c.relkind = 'i'`,
      );
      for (const { name } of indexes) {
        try {
          await pool.query('select public.bt_index_check($1::regclass, true)', [name]);
        } catch (error) {
          problems.push(`bt_index_check ${name}: ${(error as Error).message}`);
        }
      }
      return problems;
    },
    async snapshot() {
      const conversations = (await pool.query<ConversationRow>(CONVERSATIONS)).rows;
      const messages = (await pool.query<MessageRow>(MESSAGES)).rows;
      return { conversations, messages };
    },
    async dispose() {
      await pool.end();
      await dispose();
    },
  };
}

/**
 * Why amcheck cannot be used here, or undefined when it can. Creating the extension takes a superuser, so
 * scripts/test-postgres.sh installs it in its throwaway database; another server may not have it.
 */
async function amcheckReason(pool: pg.Pool): Promise<string | undefined> {
  const { rows } = await pool.query<{ installed: boolean; allowed: boolean }>(
    `select exists (select 1 from pg_extension where extname = 'amcheck') as installed,
            coalesce((select has_function_privilege(p.oid, 'execute') from pg_proc p
                      where p.proname = 'verify_heapam' limit 1), false)
        and coalesce((select has_function_privilege(p.oid, 'execute') from pg_proc p
                      where p.proname = 'bt_index_check' and p.pronargs = 2 limit 1), false) as allowed`,
  );
  const [row] = rows;
  if (!row?.installed) return 'the amcheck extension is not installed in this database';
  if (!row.allowed) return "this role may not execute amcheck's functions";
  return undefined;
}
