import type { OpenSqliteOptions, SqliteConnection } from './sqlite-connection.js';

/** The driver for Node versions whose `node:sqlite` is missing or incomplete (Node 20, early 22). */
export async function openWithBetterSqlite(
  file: string,
  options: OpenSqliteOptions,
): Promise<SqliteConnection> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: options.readonly === true });
  return {
    driver: 'better-sqlite3',
    database: db,
    exec: (sql) => {
      db.exec(sql);
    },
    rows: (sql) => db.prepare(sql).all() as Record<string, unknown>[],
    close: () => {
      db.close();
    },
  };
}
