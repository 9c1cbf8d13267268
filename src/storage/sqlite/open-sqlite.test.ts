import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Generated, Kysely, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite } from './open-sqlite.js';
import { firstValue, type SqliteConnection } from './sqlite-connection.js';

interface Tables {
  note: { id: Generated<number>; body: string | null; size: number };
}

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const nodeHasCompleteSqlite =
  major >= 24 || major === 23 ? minor >= 11 || major >= 24 : major === 22 && minor >= 16;

describe('openSqlite', () => {
  let folder: string;
  let file: string;
  const opened: SqliteConnection[] = [];
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'chatwire-sqlite-driver-'));
    file = join(folder, 'test.db');
  });
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.close();
    rmSync(folder, { recursive: true, force: true });
  });
  async function open(readonly = false): Promise<SqliteConnection> {
    const connection = await openSqlite(file, { readonly });
    opened.push(connection);
    return connection;
  }

  it(`uses ${nodeHasCompleteSqlite ? 'node:sqlite' : 'better-sqlite3'} on Node ${process.versions.node}`, async () => {
    expect((await open()).driver).toBe(nodeHasCompleteSqlite ? 'node:sqlite' : 'better-sqlite3');
  });

  it('serves Kysely: returning rows, affected-row counts, streaming, parameters of every kind', async () => {
    const connection = await open();
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: connection.database }) });
    await db.schema
      .createTable('note')
      .addColumn('id', 'integer', (column) => column.primaryKey())
      .addColumn('body', 'text')
      .addColumn('size', 'integer', (column) => column.notNull())
      .execute();
    const inserted = await db
      .insertInto('note')
      .values([
        { body: 'héllo ✓', size: 1 },
        { body: null, size: 2 },
        { body: 'x', size: 3 },
      ])
      .returning(['id', 'body'])
      .execute();
    expect(inserted).toEqual([
      { id: 1, body: 'héllo ✓' },
      { id: 2, body: null },
      { id: 3, body: 'x' },
    ]);
    const updated = await db.updateTable('note').set({ size: 9 }).where('size', '>', 1).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(2n);
    const streamed: number[] = [];
    for await (const row of db.selectFrom('note').select('id').orderBy('id').stream()) streamed.push(row.id);
    expect(streamed).toEqual([1, 2, 3]);
    await db.destroy();
    opened.splice(opened.indexOf(connection), 1);
  });

  it('opens read-only when asked, refusing writes', async () => {
    const writer = await open();
    writer.exec('create table t (x integer); insert into t values (1)');
    const reader = await open(true);
    expect(firstValue(reader, 'select count(*) from t')).toBe(1);
    expect(() => reader.exec('insert into t values (2)')).toThrow(/readonly/i);
  });
});
