import type { SqliteDatabase, SqliteStatement } from 'kysely';
import type { OpenSqliteOptions, SqliteConnection } from './sqlite-connection.js';

/**
 * The part of `node:sqlite` used here. Declared locally because the project's Node types are Node 20's,
 * which has no `node:sqlite`; this keeps the rest of the code from using anything newer by accident.
 */
interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => DatabaseSync;
  StatementSync: { prototype: object };
}
interface DatabaseSync {
  prepare(sql: string): StatementSync;
  exec(sql: string): void;
  close(): void;
}
interface StatementSync {
  columns(): unknown[];
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
}

/**
 * `node:sqlite` when this Node has all of it that Kysely needs (`StatementSync#columns`, Node 22.16+ and
 * 24+), or undefined. Node 20 has no such module; 22.5–22.12 has it only behind a flag.
 */
export async function loadNodeSqlite(): Promise<NodeSqliteModule | undefined> {
  // A variable specifier: the Node 20 types the project compiles against do not know the module.
  const specifier = 'node:sqlite';
  try {
    const module = (await import(specifier)) as NodeSqliteModule;
    return 'columns' in module.StatementSync.prototype ? module : undefined;
  } catch {
    return undefined;
  }
}

export function openWithNodeSqlite(
  module: NodeSqliteModule,
  file: string,
  options: OpenSqliteOptions,
): SqliteConnection {
  const db = new module.DatabaseSync(file, { readOnly: options.readonly === true });
  const database: SqliteDatabase = {
    close: () => db.close(),
    prepare: (sql) => toKyselyStatement(db.prepare(sql)),
  };
  return {
    driver: 'node:sqlite',
    database,
    exec: (sql) => db.exec(sql),
    rows: (sql) => db.prepare(sql).all() as Record<string, unknown>[],
    close: () => db.close(),
  };
}

/** Kysely passes parameters as one array and asks whether a statement returns rows; node:sqlite spreads them. */
function toKyselyStatement(statement: StatementSync): SqliteStatement {
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...parameters),
    run: (parameters) => statement.run(...parameters),
    iterate: (parameters) => statement.iterate(...parameters),
  };
}
