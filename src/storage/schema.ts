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
}

export interface ConversationsTable {
  id: string;
  persona: string;
  title: string | null;
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
  };
  return { getMigrations: async () => migrations };
}
