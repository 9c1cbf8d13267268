import type { SqliteDatabase } from 'kysely';

/** Which library opened the file: Node's own `node:sqlite` where it is complete, better-sqlite3 before that. */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

/** One open SQLite file, whichever driver opened it. */
export interface SqliteConnection {
  readonly driver: SqliteDriverName;
  /** What Kysely's `SqliteDialect` takes. */
  readonly database: SqliteDatabase;
  /** Runs statements that return nothing (pragmas that set, DDL). */
  exec(sql: string): void;
  /** The rows a statement returns, as plain objects. */
  rows(sql: string): Record<string, unknown>[];
  close(): void;
}

export interface OpenSqliteOptions {
  readonly?: boolean;
}

/** The first column of the first row: what `pragma integrity_check` or `pragma journal_mode` answer. */
export function firstValue(connection: SqliteConnection, sql: string): unknown {
  const [row] = connection.rows(sql);
  return row === undefined ? undefined : Object.values(row)[0];
}
