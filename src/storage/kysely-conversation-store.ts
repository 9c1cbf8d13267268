import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Conversation, ConversationStore, ReplyOutcome, StoredMessage } from './conversation-store.js';
import type { ConversationsTable, Database, MessagesTable } from './schema.js';
import { ConversationNotFoundError, InvalidCursorError } from './store-errors.js';

/** What `recoverInterruptedReplies` records as the reason, for a client showing the partial reply. */
export const RESTART_ERROR = 'chatwire stopped before the reply finished';

/** The one implementation of the store, over either database; the queries are written once. */
export class KyselyConversationStore implements ConversationStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createConversation(input: {
    persona: string;
    title: string | null;
    owner?: string | null;
  }): Promise<Conversation> {
    const now = timestamp();
    const row = {
      id: randomUUID(),
      persona: input.persona,
      title: input.title,
      owner_key: input.owner ?? null,
      created_at: now,
      updated_at: now,
    };
    await this.#db.insertInto('conversations').values(row).execute();
    return toConversation(row);
  }

  async listConversations(options: { limit: number; cursor?: string; owner?: string }): Promise<{
    conversations: Conversation[];
    nextCursor: string | null;
  }> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`limit must be a positive integer, not ${options.limit}`);
    }
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    let query = this.#db
      .selectFrom('conversations')
      .selectAll()
      .orderBy('updated_at', 'desc')
      .orderBy('id', 'desc')
      // One row more than asked says whether another page exists, without a count.
      .limit(options.limit + 1);
    if (options.owner !== undefined) query = query.where('owner_key', '=', options.owner);
    if (after !== undefined) {
      query = query.where(({ eb, refTuple, tuple }) =>
        eb(refTuple('updated_at', 'id'), '<', tuple(after.updatedAt, after.id)),
      );
    }
    const rows = await query.execute();
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return {
      conversations: page.map(toConversation),
      nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor(last) : null,
    };
  }

  async getConversation(id: string): Promise<Conversation | undefined> {
    const row = await this.#db
      .selectFrom('conversations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toConversation(row);
  }

  async listMessages(conversationId: string): Promise<StoredMessage[]> {
    const rows = await this.#db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('seq')
      .execute();
    return rows.map(toMessage);
  }

  async updateConversation(id: string, changes: { title?: string }): Promise<Conversation | undefined> {
    if (changes.title === undefined) return this.getConversation(id);
    const row = await this.#db
      .updateTable('conversations')
      .set({ title: changes.title, updated_at: timestamp() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toConversation(row);
  }

  async deleteConversation(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('conversations').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  addMessage(
    conversationId: string,
    input: { role: 'user' | 'system'; content: string },
  ): Promise<StoredMessage> {
    return this.#append(conversationId, { role: input.role, content: input.content, status: 'complete' });
  }

  startReply(conversationId: string): Promise<StoredMessage> {
    return this.#append(conversationId, { role: 'assistant', content: '', status: 'streaming' });
  }

  async deleteLastReply(conversationId: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('messages')
        .select(['id', 'role', 'status'])
        .where('conversation_id', '=', conversationId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last === undefined || last.role !== 'assistant' || last.status === 'streaming') return false;
      await trx.deleteFrom('messages').where('id', '=', last.id).execute();
      await trx
        .updateTable('conversations')
        .set({ updated_at: timestamp() })
        .where('id', '=', conversationId)
        .execute();
      return true;
    });
  }

  // Progress and the end of a reply apply only while it is `streaming`: a reply already finished, or
  // deleted with its conversation mid-stream, is left as it is rather than failing the stream.
  async saveReplyProgress(messageId: string, content: string): Promise<void> {
    await this.#db
      .updateTable('messages')
      .set({ content, updated_at: timestamp() })
      .where('id', '=', messageId)
      .where('status', '=', 'streaming')
      .execute();
  }

  async finishReply(messageId: string, outcome: ReplyOutcome): Promise<void> {
    const fields =
      outcome.status === 'complete'
        ? {
            error: null,
            prompt_tokens: outcome.promptTokens,
            completion_tokens: outcome.completionTokens,
            ttft_ms: outcome.ttftMs,
            duration_ms: outcome.durationMs,
          }
        : { error: outcome.error };
    await this.#db
      .updateTable('messages')
      .set({ status: outcome.status, content: outcome.content, ...fields, updated_at: timestamp() })
      .where('id', '=', messageId)
      .where('status', '=', 'streaming')
      .execute();
  }

  async recoverInterruptedReplies(): Promise<number> {
    const result = await this.#db
      .updateTable('messages')
      .set({ status: 'interrupted', error: RESTART_ERROR, updated_at: timestamp() })
      .where('status', '=', 'streaming')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }

  async #append(
    conversationId: string,
    fields: Pick<MessagesTable, 'role' | 'content' | 'status'>,
  ): Promise<StoredMessage> {
    return this.#db.transaction().execute(async (trx) => {
      const now = timestamp();
      // Touching the conversation comes first because it is also the lock: on PostgreSQL the update
      // holds the row until commit (as SELECT … FOR UPDATE would), on SQLite it takes the write lock
      // before anything is read. Concurrent appends therefore queue here, and each reads the seq the
      // previous one committed. (Kysely's SQLite driver also runs one transaction at a time per store.)
      const touched = await trx
        .updateTable('conversations')
        .set({ updated_at: now })
        .where('id', '=', conversationId)
        .executeTakeFirst();
      if (touched.numUpdatedRows === 0n) throw new ConversationNotFoundError(conversationId);
      const { last } = await trx
        .selectFrom('messages')
        .select(({ fn }) => fn.max('seq').as('last'))
        .where('conversation_id', '=', conversationId)
        .executeTakeFirstOrThrow();
      const row: Selectable<MessagesTable> = {
        id: randomUUID(),
        conversation_id: conversationId,
        seq: (last ?? 0) + 1,
        ...fields,
        error: null,
        prompt_tokens: null,
        completion_tokens: null,
        ttft_ms: null,
        duration_ms: null,
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('messages').values(row).execute();
      return toMessage(row);
    });
  }
}

function timestamp(): string {
  return new Date().toISOString();
}

function toConversation(row: Selectable<ConversationsTable>): Conversation {
  return {
    id: row.id,
    persona: row.persona,
    title: row.title,
    owner: row.owner_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toMessage(row: Selectable<MessagesTable>): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    role: row.role,
    content: row.content,
    status: row.status,
    error: row.error,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    ttftMs: row.ttft_ms,
    durationMs: row.duration_ms,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function encodeCursor(row: Selectable<ConversationsTable>): string {
  return Buffer.from(JSON.stringify([row.updated_at, row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { updatedAt: string; id: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    typeof value[1] !== 'string'
  ) {
    throw new InvalidCursorError();
  }
  return { updatedAt: value[0], id: value[1] };
}
