import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { storeBackends, type TestDatabase } from '../../test/support/databases.js';
import type { ConversationStore, ReplyOutcome } from './conversation-store.js';
import { RESTART_ERROR } from './kysely-conversation-store.js';
import { openConversationStore, SQLITE_FILE_NAME } from './open-conversation-store.js';
import { openSqlite } from './sqlite/open-sqlite.js';
import { firstValue } from './sqlite/sqlite-connection.js';
import { ConversationNotFoundError, InvalidCursorError } from './store-errors.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Fixes the clock the store reads, so the order of changes does not depend on which millisecond they hit. */
function setClock(iso: string): void {
  vi.setSystemTime(new Date(iso));
}

for (const backend of storeBackends) {
  describe.skipIf(backend.skipReason !== undefined)(`conversation store on ${backend.title}`, () => {
    let database: TestDatabase;
    let store: ConversationStore;

    beforeEach(async () => {
      database = await backend.createDatabase();
      store = await database.open();
    });
    afterEach(async () => {
      vi.useRealTimers();
      await database.dispose();
    });

    it('creates a conversation and reads back exactly what it returned', async () => {
      const untitled = await store.createConversation({ persona: 'default', title: null });
      const titled = await store.createConversation({ persona: 'pirate', title: 'Ahoy' });

      expect(untitled).toEqual({
        id: expect.stringMatching(UUID),
        persona: 'default',
        title: null,
        owner: null,
        createdAt: expect.stringMatching(ISO_MS),
        updatedAt: untitled.createdAt,
      });
      expect(titled).toMatchObject({ persona: 'pirate', title: 'Ahoy' });
      expect(titled.id).not.toBe(untitled.id);
      expect(await store.getConversation(untitled.id)).toEqual(untitled);
      expect(await store.getConversation(titled.id)).toEqual(titled);
    });

    it('answers "not there" for an unknown conversation or message', async () => {
      const unknown = randomUUID();
      expect(await store.getConversation(unknown)).toBeUndefined();
      expect(await store.updateConversation(unknown, { title: 'x' })).toBeUndefined();
      expect(await store.deleteConversation(unknown)).toBe(false);
      expect(await store.listMessages(unknown)).toEqual([]);
      await expect(store.addMessage(unknown, { role: 'user', content: 'hi' })).rejects.toThrow(
        ConversationNotFoundError,
      );
      await expect(store.startReply(unknown)).rejects.toThrow(ConversationNotFoundError);
      await expect(store.saveReplyProgress(unknown, 'text')).resolves.toBeUndefined();
      await expect(
        store.finishReply(unknown, { status: 'failed', content: '', error: 'x' }),
      ).resolves.toBeUndefined();
    });

    it('lists newest first by last change, a page at a time', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const created = [];
      for (let minute = 0; minute < 5; minute++) {
        setClock(`2025-01-01T00:0${minute}:00.000Z`);
        created.push(await store.createConversation({ persona: 'default', title: `c${minute}` }));
      }
      setClock('2025-01-01T00:10:00.000Z');
      await store.addMessage(created[1]?.id ?? '', { role: 'user', content: 'bump' });

      const titles: Array<Array<string | null>> = [];
      let cursor: string | undefined;
      do {
        const page = await store.listConversations({ limit: 2, ...(cursor && { cursor }) });
        titles.push(page.conversations.map((conversation) => conversation.title));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);

      expect(titles).toEqual([['c1', 'c4'], ['c3', 'c2'], ['c0']]);
      const first = await store.listConversations({ limit: 10 });
      expect(first.nextCursor).toBeNull();
      expect(first.conversations[0]).toEqual(await store.getConversation(created[1]?.id ?? ''));
      expect(first.conversations[0]?.updatedAt).toBe('2025-01-01T00:10:00.000Z');
    });

    it('pages through conversations changed in the same millisecond without skipping or repeating', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      setClock('2025-01-01T00:00:00.000Z');
      const ids = [];
      for (let i = 0; i < 5; i++)
        ids.push((await store.createConversation({ persona: 'p', title: null })).id);

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listConversations({ limit: 2, ...(cursor && { cursor }) });
        seen.push(...page.conversations.map((conversation) => conversation.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);

      expect(seen).toEqual([...ids].sort().reverse());
    });

    it('refuses a cursor it did not issue and a limit below 1', async () => {
      await expect(store.listConversations({ limit: 5, cursor: 'not-a-cursor' })).rejects.toThrow(
        InvalidCursorError,
      );
      const wrongShape = Buffer.from(JSON.stringify({ id: 'x' })).toString('base64url');
      await expect(store.listConversations({ limit: 5, cursor: wrongShape })).rejects.toThrow(
        InvalidCursorError,
      );
      await expect(store.listConversations({ limit: 0 })).rejects.toThrow(RangeError);
    });

    it('renames a conversation, which counts as a change', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      setClock('2025-01-01T00:00:00.000Z');
      const conversation = await store.createConversation({ persona: 'default', title: null });
      setClock('2025-01-01T00:05:00.000Z');

      const renamed = await store.updateConversation(conversation.id, { title: 'Plans' });

      expect(renamed).toEqual({ ...conversation, title: 'Plans', updatedAt: '2025-01-01T00:05:00.000Z' });
      expect(await store.getConversation(conversation.id)).toEqual(renamed);
      expect(await store.updateConversation(conversation.id, {})).toEqual(renamed);
    });

    it('deletes a conversation together with its messages', async () => {
      const doomed = await store.createConversation({ persona: 'default', title: null });
      const kept = await store.createConversation({ persona: 'default', title: null });
      await store.addMessage(doomed.id, { role: 'user', content: 'hi' });
      const reply = await store.startReply(doomed.id);
      await store.addMessage(kept.id, { role: 'user', content: 'still here' });

      expect(await store.deleteConversation(doomed.id)).toBe(true);

      expect(await store.getConversation(doomed.id)).toBeUndefined();
      expect(await store.listMessages(doomed.id)).toEqual([]);
      expect(await store.deleteConversation(doomed.id)).toBe(false);
      // A stream still running for the deleted conversation must not fail on its next save.
      await expect(store.saveReplyProgress(reply.id, 'late')).resolves.toBeUndefined();
      expect((await store.listMessages(kept.id)).map((message) => message.content)).toEqual(['still here']);
      expect((await store.listConversations({ limit: 10 })).conversations).toEqual([
        await store.getConversation(kept.id),
      ]);
    });

    it('numbers messages from 1 in the order they are added, and touches the conversation', async () => {
      const conversation = await store.createConversation({ persona: 'default', title: null });
      const system = await store.addMessage(conversation.id, { role: 'system', content: 'be brief' });
      const user = await store.addMessage(conversation.id, { role: 'user', content: 'hello' });
      const reply = await store.startReply(conversation.id);
      const next = await store.addMessage(conversation.id, { role: 'user', content: 'again' });

      expect([system, user, reply, next].map((message) => message.seq)).toEqual([1, 2, 3, 4]);
      expect(user).toEqual({
        id: expect.stringMatching(UUID),
        conversationId: conversation.id,
        seq: 2,
        role: 'user',
        content: 'hello',
        status: 'complete',
        error: null,
        promptTokens: null,
        completionTokens: null,
        ttftMs: null,
        durationMs: null,
        createdAt: expect.stringMatching(ISO_MS),
        updatedAt: user.createdAt,
      });
      expect(await store.listMessages(conversation.id)).toEqual([system, user, reply, next]);
      expect((await store.getConversation(conversation.id))?.updatedAt).toBe(next.createdAt);
    });

    it('deletes the last reply for a regeneration, and only a finished reply that is last', async () => {
      const conversation = await store.createConversation({ persona: 'default', title: null });
      const user = await store.addMessage(conversation.id, { role: 'user', content: 'hello' });
      expect(await store.deleteLastReply(conversation.id)).toBe(false);
      const reply = await store.startReply(conversation.id);
      expect(await store.deleteLastReply(conversation.id)).toBe(false);
      await store.finishReply(reply.id, { status: 'interrupted', content: 'hal', error: 'client left' });
      expect(await store.deleteLastReply(conversation.id)).toBe(true);
      expect(await store.listMessages(conversation.id)).toEqual([user]);
      // The next reply takes the number the deleted one had: the sequence stays without gaps.
      expect((await store.startReply(conversation.id)).seq).toBe(2);
      expect(await store.deleteLastReply('no-such-conversation')).toBe(false);
    });

    it('streams a reply: starts empty, saves progress, completes with counts and timings', async () => {
      const conversation = await store.createConversation({ persona: 'default', title: null });
      await store.addMessage(conversation.id, { role: 'user', content: 'hi' });
      const reply = await store.startReply(conversation.id);
      expect(reply).toMatchObject({
        seq: 2,
        role: 'assistant',
        content: '',
        status: 'streaming',
        error: null,
      });

      await store.saveReplyProgress(reply.id, 'Hel');
      expect((await store.listMessages(conversation.id))[1]).toMatchObject({
        content: 'Hel',
        status: 'streaming',
      });

      await store.finishReply(reply.id, {
        status: 'complete',
        content: 'Hello!',
        promptTokens: 12,
        completionTokens: 3,
        ttftMs: 150,
        durationMs: 900,
      });
      const [, finished] = await store.listMessages(conversation.id);
      expect(finished).toEqual({
        ...reply,
        content: 'Hello!',
        status: 'complete',
        promptTokens: 12,
        completionTokens: 3,
        ttftMs: 150,
        durationMs: 900,
        updatedAt: expect.stringMatching(ISO_MS),
      });

      // A finished reply stays as it ended, whatever arrives late.
      await store.saveReplyProgress(reply.id, 'late text');
      await store.finishReply(reply.id, { status: 'failed', content: '', error: 'late failure' });
      expect((await store.listMessages(conversation.id))[1]).toEqual(finished);
    });

    it.each<[string, ReplyOutcome]>([
      ['interrupted', { status: 'interrupted', content: 'Once upon', error: 'client went away' }],
      ['interrupted without a reason', { status: 'interrupted', content: 'Once upon', error: null }],
      ['failed', { status: 'failed', content: 'Once', error: 'Ollama stalled' }],
    ])('ends a reply %s, keeping the text received', async (_name, outcome) => {
      const conversation = await store.createConversation({ persona: 'default', title: null });
      const reply = await store.startReply(conversation.id);
      await store.saveReplyProgress(reply.id, 'Once');

      await store.finishReply(reply.id, outcome);

      expect(await store.listMessages(conversation.id)).toEqual([
        {
          ...reply,
          content: outcome.content,
          status: outcome.status,
          error: outcome.status === 'complete' ? null : outcome.error,
          updatedAt: expect.stringMatching(ISO_MS),
        },
      ]);
    });

    it('after a restart, marks the replies that were still streaming as interrupted', async () => {
      const first = await store.createConversation({ persona: 'default', title: null });
      const second = await store.createConversation({ persona: 'default', title: null });
      const cutOff = await store.startReply(first.id);
      await store.saveReplyProgress(cutOff.id, 'partial');
      const neverStarted = await store.startReply(second.id);
      const done = await store.startReply(second.id);
      await store.finishReply(done.id, { status: 'failed', content: '', error: 'boom' });
      await store.close();

      const restarted = await database.open();
      expect(await restarted.recoverInterruptedReplies()).toBe(2);
      expect(await restarted.recoverInterruptedReplies()).toBe(0);

      expect(await restarted.listMessages(first.id)).toEqual([
        expect.objectContaining({
          id: cutOff.id,
          status: 'interrupted',
          content: 'partial',
          error: RESTART_ERROR,
        }),
      ]);
      expect(await restarted.listMessages(second.id)).toEqual([
        expect.objectContaining({
          id: neverStarted.id,
          status: 'interrupted',
          content: '',
          error: RESTART_ERROR,
        }),
        expect.objectContaining({ id: done.id, status: 'failed', error: 'boom' }),
      ]);
    });

    it('gives 20 concurrent appends to one conversation the numbers 1 to 20, once each', async () => {
      const conversation = await store.createConversation({ persona: 'default', title: null });
      const other = await store.createConversation({ persona: 'default', title: null });

      const [mine, theirs] = await Promise.all([
        Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 4 === 3
              ? store.startReply(conversation.id)
              : store.addMessage(conversation.id, { role: 'user', content: `m${i}` }),
          ),
        ),
        Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.addMessage(other.id, { role: 'user', content: `o${i}` }),
          ),
        ),
      ]);

      const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
      expect(mine.map((message) => message.seq).sort((a, b) => a - b)).toEqual(oneToN(20));
      expect(theirs.map((message) => message.seq).sort((a, b) => a - b)).toEqual(oneToN(10));
      const stored = await store.listMessages(conversation.id);
      expect(stored.map((message) => message.seq)).toEqual(oneToN(20));
      expect(stored).toEqual([...mine].sort((a, b) => a.seq - b.seq));
    });

    it('reopens with its data, and a second start finds the schema up to date', async () => {
      const fresh = await backend.createDatabase();
      try {
        const logged: Array<Record<string, unknown>> = [];
        const logger = { info: (obj: object) => logged.push(obj as Record<string, unknown>) };
        const first = await fresh.open(logger);
        const conversation = await first.createConversation({ persona: 'default', title: 'kept' });
        await first.addMessage(conversation.id, { role: 'user', content: 'hello' });
        const before = await first.getConversation(conversation.id);
        await first.close();

        const second = await fresh.open(logger);

        expect(logged.map((entry) => entry.migrationsApplied)).toEqual([
          ['0001_conversations_and_messages', '0002_api_keys'],
          [],
        ]);
        expect(await second.getConversation(conversation.id)).toEqual(before);
        expect(await second.listMessages(conversation.id)).toHaveLength(1);
      } finally {
        await fresh.dispose();
      }
    });
  });
}

describe('conversation store on SQLite files', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'chatwire-sqlite-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps chatwire.db in the data folder, creating it, in WAL mode and intact', async () => {
    const folder = join(dataDir, 'nested', 'data');
    const store = await openConversationStore({ dataDir: folder });
    const conversation = await store.createConversation({ persona: 'default', title: null });
    await store.addMessage(conversation.id, { role: 'user', content: 'hi' });
    await store.close();

    const file = await openSqlite(join(folder, SQLITE_FILE_NAME), { readonly: true });
    try {
      expect(firstValue(file, 'pragma journal_mode')).toBe('wal');
      expect(firstValue(file, 'pragma integrity_check')).toBe('ok');
      expect(file.rows('pragma foreign_key_check')).toEqual([]);
    } finally {
      file.close();
    }
  });

  it('keeps nothing on disk with sqlite::memory:', async () => {
    const store = await openConversationStore({ databaseUrl: 'sqlite::memory:', dataDir });
    const conversation = await store.createConversation({ persona: 'default', title: null });
    expect(await store.getConversation(conversation.id)).toEqual(conversation);
    await store.close();
    expect(existsSync(join(dataDir, SQLITE_FILE_NAME))).toBe(false);
  });
});

describe('opening a store', () => {
  it('refuses a DATABASE_URL it cannot use, naming the variable but not the password', async () => {
    const opening = openConversationStore({ databaseUrl: 'mysql://app:s3cret@db/chat', dataDir: tmpdir() });
    await expect(opening).rejects.toThrow(/DATABASE_URL must be a postgres:\/\/ .* not mysql:$/);
  });

  it('says which PostgreSQL it could not reach, without the password', async () => {
    const port = await closedPort();
    const opening = openConversationStore({
      databaseUrl: `postgres://app:s3cret@127.0.0.1:${port}/chat`,
      dataDir: tmpdir(),
    });
    await expect(opening).rejects.toThrow(
      `cannot open the PostgreSQL database at 127.0.0.1:${port}/chat (DATABASE_URL): connect ECONNREFUSED`,
    );
    await expect(opening).rejects.not.toThrow(/s3cret/);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
