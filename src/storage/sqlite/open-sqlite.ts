import { openWithBetterSqlite } from './better-sqlite.js';
import { loadNodeSqlite, openWithNodeSqlite } from './node-sqlite.js';
import type { OpenSqliteOptions, SqliteConnection } from './sqlite-connection.js';

/**
 * Opens a SQLite file with Node's built-in driver where it is complete, and with better-sqlite3 only where
 * it is not. better-sqlite3 12 aborts Node 24 processes (`Assertion failed: (env) != nullptr` when a
 * statement is finalised in a garbage collection after its environment's cleanup), and 13 needs Node 22;
 * `node:sqlite` is part of Node itself, so it cannot fall out of step with the Node it runs on.
 */
export async function openSqlite(file: string, options: OpenSqliteOptions = {}): Promise<SqliteConnection> {
  const nodeSqlite = await loadNodeSqlite();
  return nodeSqlite === undefined
    ? openWithBetterSqlite(file, options)
    : openWithNodeSqlite(nodeSqlite, file, options);
}
