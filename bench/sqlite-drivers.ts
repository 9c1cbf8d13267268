// `node --import tsx bench/sqlite-drivers.ts`: the conversation store's own work (a conversation, a user
// message, a reply started, saved twice and finished, the history read back) on a SQLite file, through
// the driver this Node picks (node:sqlite on 22.16+, better-sqlite3 before). Run it on each Node to compare
// what the driver choice costs. With --both, better-sqlite3 is timed too on a Node that has node:sqlite;
// on Node 24 that run itself aborts in a garbage collection, as the driver does there (the reason for the
// choice), so compare against Node 20 instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { ConversationStore } from '../src/storage/conversation-store.js';
import { KyselyConversationStore } from '../src/storage/kysely-conversation-store.js';
import { openConversationStore } from '../src/storage/open-conversation-store.js';
import { type Database, migrationProvider } from '../src/storage/schema.js';
import { openWithBetterSqlite } from '../src/storage/sqlite/better-sqlite.js';
import { openSqlite } from '../src/storage/sqlite/open-sqlite.js';

const TURNS = 2_000;

async function workload(store: ConversationStore): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < TURNS; i++) {
    const conversation = await store.createConversation({ persona: 'default', title: null });
    await store.addMessage(conversation.id, { role: 'user', content: `question ${i} `.repeat(20) });
    const reply = await store.startReply(conversation.id);
    await store.saveReplyProgress(reply.id, 'partial '.repeat(50));
    await store.saveReplyProgress(reply.id, 'partial '.repeat(100));
    await store.finishReply(reply.id, {
      status: 'complete',
      content: 'answer '.repeat(120),
      promptTokens: 100,
      completionTokens: 120,
      ttftMs: 12,
      durationMs: 900,
    });
    await store.listMessages(conversation.id);
  }
  return ((performance.now() - started) * 1000) / TURNS;
}

async function storeOn(kind: 'auto' | 'better-sqlite3', dataDir: string): Promise<ConversationStore> {
  if (kind === 'auto') return openConversationStore({ dataDir });
  const file = join(dataDir, 'chatwire.db');
  const sqlite = await openWithBetterSqlite(file, {});
  sqlite.exec('pragma journal_mode = WAL; pragma synchronous = NORMAL; pragma foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite.database }) });
  const { error } = await new Migrator({
    db,
    provider: migrationProvider('sqlite'),
    migrationTableName: 'chatwire_migration',
    migrationLockTableName: 'chatwire_migration_lock',
  }).migrateToLatest();
  if (error !== undefined) throw error;
  return new KyselyConversationStore(db);
}

const kinds: Array<'auto' | 'better-sqlite3'> = process.argv.includes('--both')
  ? ['auto', 'better-sqlite3']
  : ['auto'];
const probe = await openSqlite(':memory:');
console.log(`Node ${process.version}; the store's driver here: ${probe.driver}`);
probe.close();
for (const kind of kinds) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chatwire-sqlite-bench-'));
  const store = await storeOn(kind, dataDir);
  await workload(store); // warm-up
  const rounds = [await workload(store), await workload(store), await workload(store)];
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  const label = kind === 'auto' ? 'chosen driver' : 'better-sqlite3';
  console.log(
    `${label}: ${rounds.map((us) => us.toFixed(0)).join(', ')} µs per turn (7 statements and a read)`,
  );
}
