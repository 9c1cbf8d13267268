import {
  type ColumnDataType,
  type Expression,
  type Kysely,
  type Migration,
  type MigrationProvider,
  sql,
} from 'kysely';

export type DatabaseKind = 'sqlite' | 'postgres';

/** The tables as the queries see them. Timestamps are ISO 8601 text in UTC with milliseconds. */
export interface Database {
  conversations: ConversationsTable;
  messages: MessagesTable;
  api_keys: ApiKeysTable;
}

export interface ConversationsTable {
  id: string;
  persona: string;
  title: string | null;
  /** The API key that created it; null when auth was off. */
  owner_key: string | null;
  created_at: string;
  updated_at: string;
}

export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  role: 'system' | 'user' | 'assistant';
  content: string;
  status: 'complete' | 'streaming' | 'interrupted' | 'failed';
  error: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  created_at: string;
  updated_at: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  /** The key's first characters, shown in listings and used to find it; not secret. */
  prefix: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  hash: string;
  /** 1 or 0: SQLite has no booleans. */
  admin: number;
  rpm: number | null;
  streams: number | null;
  tokens_per_day: number | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/**
 * Every schema version, oldest first; Kysely's migration table records which ran. A migration, once
 * released, never changes: later changes are new entries. Migrations take an untyped `Kysely` because
 * they describe the schema as it was then, not as `Database` says it is now.
 */
export function migrationProvider(kind: DatabaseKind): MigrationProvider {
  // PostgreSQL compares text by the database's locale; "C" makes ids and timestamps sort bytewise,
  // exactly as SQLite does, so both order pages identically.
  const key: ColumnDataType | Expression<unknown> = kind === 'postgres' ? sql`text collate "C"` : 'text';

  const migrations: Record<string, Migration> = {
    '0001_conversations_and_messages': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('conversations')
          .addColumn('id', key, (col) => col.primaryKey())
          .addColumn('persona', 'text', (col) => col.notNull())
          .addColumn('title', 'text')
          .addColumn('created_at', key, (col) => col.notNull())
          .addColumn('updated_at', key, (col) => col.notNull())
          .execute();
        await db.schema
          .createIndex('conversations_recent')
          .on('conversations')
          .columns(['updated_at', 'id'])
          .execute();

        await db.schema
          .createTable('messages')
          .addColumn('id', key, (col) => col.primaryKey())
          .addColumn('conversation_id', key, (col) =>
            col.notNull().references('conversations.id').onDelete('cascade'),
          )
          .addColumn('seq', 'integer', (col) => col.notNull())
          .addColumn('role', 'text', (col) => col.notNull())
          .addColumn('content', 'text', (col) => col.notNull())
          .addColumn('status', 'text', (col) => col.notNull())
          .addColumn('error', 'text')
          .addColumn('prompt_tokens', 'integer')
          .addColumn('completion_tokens', 'integer')
          .addColumn('ttft_ms', 'integer')
          .addColumn('duration_ms', 'integer')
          .addColumn('created_at', key, (col) => col.notNull())
          .addColumn('updated_at', key, (col) => col.notNull())
          // Its index leads with conversation_id, so it also serves listing a conversation's messages
          // and the cascading delete; a separate index on conversation_id would only cost writes.
          .addUniqueConstraint('messages_conversation_seq', ['conversation_id', 'seq'])
          .addCheckConstraint('messages_role', sql`role in ('system', 'user', 'assistant')`)
          .addCheckConstraint(
            'messages_status',
            sql`status in ('complete', 'streaming', 'interrupted', 'failed')`,
          )
          .execute();
        // Start-up recovery looks for `streaming` rows; they are few, the table is not.
        await db.schema
          .createIndex('messages_streaming')
          .on('messages')
          .column('id')
          .where(sql.ref('status'), '=', 'streaming')
          .execute();
      },
    },
    '0002_api_keys': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('api_keys')
          .addColumn('id', key, (col) => col.primaryKey())
          .addColumn('name', 'text', (col) => col.notNull())
          .addColumn('prefix', key, (col) => col.notNull().unique())
          .addColumn('hash', 'text', (col) => col.notNull())
          .addColumn('admin', 'integer', (col) => col.notNull())
          .addColumn('rpm', 'integer')
          .addColumn('streams', 'integer')
          .addColumn('tokens_per_day', 'integer')
          .addColumn('created_at', key, (col) => col.notNull())
          .addColumn('last_used_at', key)
          .addColumn('revoked_at', key)
          .execute();
        // A name is reused only once its key is revoked.
        await db.schema
          .createIndex('api_keys_active_name')
          .on('api_keys')
          .column('name')
          .unique()
          .where(sql.ref('revoked_at'), 'is', null)
          .execute();
        await db.schema.alterTable('conversations').addColumn('owner_key', key).execute();
        // A key's own conversations, newest first, as listing them asks.
        await db.schema
          .createIndex('conversations_owner_recent')
          .on('conversations')
          .columns(['owner_key', 'updated_at', 'id'])
          .execute();
      },
    },
  };
  return { getMigrations: async () => migrations };
}
