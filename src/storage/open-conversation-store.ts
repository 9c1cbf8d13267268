import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Dialect, Kysely, Migrator, PostgresDialect, SqliteAdapter, SqliteDialect, sql } from 'kysely';
import { KeyStore } from '../keys/key-store.js';
import type { ConversationStore } from './conversation-store.js';
import { KyselyConversationStore } from './kysely-conversation-store.js';
import { type Database, type DatabaseKind, migrationProvider } from './schema.js';
import { openSqlite } from './sqlite/open-sqlite.js';

export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn?(obj: object, msg: string): void;
}

export interface OpenStoreOptions {
  /** Unset: SQLite in `dataDir`. `postgres://` or `postgresql://`: PostgreSQL. `sqlite::memory:`: for tests. */
  databaseUrl?: string | undefined;
  /** Where the SQLite file `chatwire.db` lives; created if missing. */
  dataDir: string;
  logger?: StoreLogger | undefined;
}

export const SQLITE_FILE_NAME = 'chatwire.db';
const IN_MEMORY_URL = 'sqlite::memory:';

/** The conversations and the API keys, in one database; closing the conversations closes both. */
export interface Storage {
  conversations: ConversationStore;
  keys: KeyStore;
}

/** Opens the database the configuration names and brings its schema up to date before returning. */
export async function openConversationStore(options: OpenStoreOptions): Promise<ConversationStore> {
  return (await openStorage(options)).conversations;
}

export async function openStorage(options: OpenStoreOptions): Promise<Storage> {
  const target = resolveTarget(options);
  let db: Kysely<Database>;
  let driver: string;
  try {
    const opened = await createDialect(target, options.logger);
    driver = opened.driver;
    db = new Kysely<Database>({ dialect: opened.dialect });
  } catch (error) {
    throw openError(target, error);
  }
  try {
    const applied = await migrate(db, target.kind);
    options.logger?.info(
      { database: target.kind, driver, at: target.description, migrationsApplied: applied },
      `conversations stored in ${target.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} at ${target.description}`,
    );
  } catch (error) {
    await db.destroy().catch(() => {});
    throw openError(target, error);
  }
  return { conversations: new KyselyConversationStore(db), keys: new KeyStore(db) };
}

type Target =
  | { kind: 'sqlite'; file: string; description: string }
  | { kind: 'postgres'; url: string; description: string };

function resolveTarget({ databaseUrl, dataDir }: OpenStoreOptions): Target {
  if (databaseUrl === undefined || databaseUrl === '') {
    const file = join(dataDir, SQLITE_FILE_NAME);
    return { kind: 'sqlite', file, description: file };
  }
  if (databaseUrl === IN_MEMORY_URL) return { kind: 'sqlite', file: ':memory:', description: 'memory' };
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return { kind: 'postgres', url: databaseUrl, description: describePostgresUrl(databaseUrl) };
  }
  // Only the scheme is repeated: the rest of a URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(databaseUrl)?.[0] ?? 'a value without a scheme';
  throw new Error(
    `DATABASE_URL must be a postgres:// or postgresql:// URL (or unset for SQLite in the data folder), not ${scheme}`,
  );
}

/** host:port/database, without the credentials, for logs and errors. */
function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'the DATABASE_URL address';
  }
}

/** Each driver is loaded only when chosen: the one not in use costs no memory or start-up time. */
async function createDialect(
  target: Target,
  logger: StoreLogger | undefined,
): Promise<{ dialect: Dialect; driver: string }> {
  if (target.kind === 'postgres') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: target.url, application_name: 'chatwire' });
    // An idle connection the server drops emits 'error' on the pool; unheard, it would end the process.
    pool.on('error', (error) => {
      (logger?.warn ?? logger?.info)?.call(logger, { err: error }, 'PostgreSQL connection lost');
    });
    return { dialect: new PostgresDialect({ pool }), driver: 'pg' };
  }
  if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true });
  const sqlite = await openSqlite(target.file);
  // WAL lets readers (a backup, the sqlite3 shell) work beside the writer; with it, synchronous=NORMAL
  // still never corrupts the file and loses no commits on a process crash, only on power loss.
  // Another process holding the write lock (a second gateway, a backup) is waited for, not an error.
  sqlite.exec(
    'pragma journal_mode = WAL; pragma synchronous = NORMAL; pragma foreign_keys = ON; pragma busy_timeout = 5000',
  );
  return { dialect: new TransactionalDdlSqliteDialect({ database: sqlite.database }), driver: sqlite.driver };
}

/** SQLite runs DDL inside transactions; saying so makes Kysely apply each migration atomically. */
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new (class extends SqliteAdapter {
      override get supportsTransactionalDdl(): boolean {
        return true;
      }
    })();
  }
}

async function migrate(db: Kysely<Database>, kind: DatabaseKind): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider(kind),
    // Own names, so that another Kysely application sharing the database keeps its history apart.
    migrationTableName: 'chatwire_migration',
    migrationLockTableName: 'chatwire_migration_lock',
    // Kysely looks for its tables in every schema unless told one; on PostgreSQL that is the schema
    // the tables go to (the search_path's first), or a copy in another schema would be taken for ours.
    ...(kind === 'postgres' && { migrationTableSchema: await currentSchema(db) }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

async function currentSchema(db: Kysely<Database>): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}

function openError(target: Target, cause: unknown): Error {
  const [where, variable] =
    target.kind === 'postgres'
      ? [`PostgreSQL database at ${target.description}`, ' (DATABASE_URL)']
      : [`SQLite database ${target.description}`, target.file === ':memory:' ? '' : ' (CHATWIRE_DATA_DIR)'];
  return new Error(`cannot open the ${where}${variable}: ${reasonOf(cause)}`, { cause });
}

function reasonOf(error: unknown): string {
  // A host name that resolves to both ::1 and 127.0.0.1 fails as an AggregateError with no message.
  if (error instanceof AggregateError && error.message === '') return reasonOf(error.errors[0]);
  return error instanceof Error ? error.message || error.name : String(error);
}
