/**
 * The conversation store: what the conversations API needs from storage, whatever the database.
 * Implemented once with Kysely over SQLite (embedded default) and PostgreSQL.
 */
export interface ConversationStore {
  createConversation(input: {
    persona: string;
    title: string | null;
    owner?: string | null;
  }): Promise<Conversation>;
  /**
   * Newest first (by `updatedAt`, then id); `cursor` is the `nextCursor` of the previous page. With
   * `owner`, only the conversations that key created.
   */
  listConversations(options: { limit: number; cursor?: string; owner?: string }): Promise<{
    conversations: Conversation[];
    nextCursor: string | null;
  }>;
  getConversation(id: string): Promise<Conversation | undefined>;
  /** Messages oldest first. */
  listMessages(conversationId: string): Promise<StoredMessage[]>;
  /** Returns undefined when there is no such conversation. */
  updateConversation(id: string, changes: { title?: string }): Promise<Conversation | undefined>;
  /** Deletes the conversation and its messages; false when there was none. */
  deleteConversation(id: string): Promise<boolean>;
  /** Appends a complete message (a user turn) and touches the conversation's `updatedAt`. */
  addMessage(
    conversationId: string,
    input: { role: 'user' | 'system'; content: string },
  ): Promise<StoredMessage>;
  /** Appends an assistant message in status `streaming` with empty content. */
  startReply(conversationId: string): Promise<StoredMessage>;
  /**
   * Removes the conversation's last message if it is a reply that is no longer streaming, so that it can be
   * generated again; false when the last message is anything else.
   */
  deleteLastReply(conversationId: string): Promise<boolean>;
  /** Saves the text received so far (periodic, so a crash loses at most one window). */
  saveReplyProgress(messageId: string, content: string): Promise<void>;
  /** Ends the reply: `complete` with counts and timings, `interrupted` (partial text kept) or `failed`. */
  finishReply(messageId: string, outcome: ReplyOutcome): Promise<void>;
  /**
   * At start-up: every reply still `streaming` was cut off by a crash or a kill; mark it `interrupted`,
   * keeping its saved text. Returns how many were marked.
   */
  recoverInterruptedReplies(): Promise<number>;
  close(): Promise<void>;
}

export interface Conversation {
  id: string;
  persona: string;
  title: string | null;
  /** The id of the API key that created it; null when auth was off. Never sent to clients. */
  owner: string | null;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
}

export type MessageStatus = 'complete' | 'streaming' | 'interrupted' | 'failed';

export interface StoredMessage {
  id: string;
  conversationId: string;
  /** Position in the conversation, from 1; unique per conversation. */
  seq: number;
  role: 'system' | 'user' | 'assistant';
  content: string;
  status: MessageStatus;
  error: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  ttftMs: number | null;
  durationMs: number | null;
  createdAt: string;
  updatedAt: string;
}

export type ReplyOutcome =
  | {
      status: 'complete';
      content: string;
      promptTokens: number;
      completionTokens: number;
      ttftMs: number | null;
      durationMs: number;
    }
  | { status: 'interrupted'; content: string; error: string | null }
  | { status: 'failed'; content: string; error: string };
