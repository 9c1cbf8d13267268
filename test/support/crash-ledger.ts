import { titleFrom } from '../../src/conversations/trim-history.js';
import { RESTART_ERROR } from '../../src/storage/kysely-conversation-store.js';
import type { DatabaseSnapshot, MessageRow } from './crash-database.js';

/** Every reply is these tokens, so any stored text can be placed exactly: `t0 t1 t2 …`. */
export const REPLY_TOKENS = Array.from({ length: 120 }, (_, index) => `t${index} `);
export const FULL_REPLY = REPLY_TOKENS.join('');

export function tokensIn(text: string): number {
  return text.split(' ').length - 1;
}

/** One save window (50 chunks) and the save then in flight: the most a recovered reply may lag its client. */
export const SAVE_SLACK_TOKENS = 100;

/** What one client saw of one reply, filled in as it reads. */
export interface ReplySeen {
  /** The user message it answers (a regeneration answers the same one again). */
  question: string;
  text: string;
  /** The done line arrived (or a stream:false body, which is sent after the reply is stored complete). */
  done: boolean;
  /** Read until the end or the kill; false: it left after some tokens, and the reply ran on detached. */
  stayed: boolean;
}

/** What the database may hold for one message, given what the clients were told. */
type Expected =
  | { kind: 'stored'; row: Pick<MessageRow, 'role' | 'content' | 'status' | 'error'> }
  | { kind: 'user'; content: string }
  | { kind: 'reply'; seen: ReplySeen; full: string }
  /** A turn whose response never arrived: its reply, if it exists, is any prefix of the reply. */
  | { kind: 'unacknowledged-reply'; full: string };

interface ConversationModel {
  id: string;
  titles: Array<string | null>;
  /** False once a delete was sent whose answer never came. */
  certain: boolean;
  /** The message lists the database may hold; more than one only after an unacknowledged turn. */
  histories: Expected[][];
  /** A request of the load is in flight on it: the load sends one at a time per conversation. */
  busy: boolean;
}

export interface CrashFigures {
  acknowledgedWrites: number;
  /** …by kind: create, message, regenerate, rename, delete. */
  acknowledgedByKind: Record<string, number>;
  /** Replies running at a kill (started, done line not received), found interrupted after the restart. */
  recoveredInterrupted: number;
  /** …of which the client had left, so they were running detached. */
  recoveredDetached: number;
  /** Replies that had started and were found complete (they finished before the kill). */
  foundComplete: number;
  /** The most tokens a recovered reply missed of what its (staying) client had received. */
  maxLagTokens: number;
  /** The most tokens a recovered reply missed of what the upstream had sent for it (an upper bound). */
  maxUpstreamLagTokens: number;
  /** …of which held some text (a save had happened). */
  recoveredWithText: number;
  unacknowledgedCreatesFound: number;
}

/**
 * The test's record of every write the gateway acknowledged, and what each may have left behind when
 * the answer never came; `verify` holds a database snapshot to it after each restart and then adopts
 * what it found, so every later cycle checks that nothing acknowledged earlier has changed either.
 */
export class CrashLedger {
  readonly figures: CrashFigures = {
    acknowledgedWrites: 0,
    acknowledgedByKind: {},
    recoveredInterrupted: 0,
    recoveredDetached: 0,
    foundComplete: 0,
    maxLagTokens: 0,
    maxUpstreamLagTokens: 0,
    recoveredWithText: 0,
    unacknowledgedCreatesFound: 0,
  };
  /** Hears every acknowledgement as it is recorded. */
  onAcknowledged: (() => void) | undefined;
  /** The whole reply the upstream gives to requests sent from now on. */
  reply = FULL_REPLY;
  private readonly conversations = new Map<string, ConversationModel>();
  private readonly deleted = new Set<string>();
  /** Titles of creates sent this cycle whose 201 never came. */
  private pendingCreates: Array<string | null> = [];

  idle(): string[] {
    return [...this.conversations.values()].filter((c) => !c.busy).map((c) => c.id);
  }

  /** Marks a conversation in use by one request of the load; `release` when its answer is handled. */
  take(id: string): void {
    this.model(id).busy = true;
  }

  release(id: string): void {
    const conversation = this.conversations.get(id);
    if (conversation) conversation.busy = false;
  }

  /** The user message a regeneration would answer again, as far as the ledger knows. */
  lastQuestion(id: string): string | undefined {
    const history = this.model(id).histories[0] ?? [];
    for (const expected of [...history].reverse()) {
      if (expected.kind === 'user') return expected.content;
      if (expected.kind === 'stored' && expected.row.role === 'user') return expected.row.content;
    }
    return undefined;
  }

  createSent(title: string | null): () => void {
    this.pendingCreates.push(title);
    return () => {
      this.pendingCreates.splice(this.pendingCreates.indexOf(title), 1);
    };
  }

  created(id: string, title: string | null): void {
    this.acknowledged('create');
    this.conversations.set(id, { id, titles: [title], certain: true, histories: [[]], busy: false });
  }

  renamed(id: string, title: string, acknowledged: boolean): void {
    const conversation = this.model(id);
    if (acknowledged) this.acknowledged('rename');
    conversation.titles = acknowledged ? [title] : [...conversation.titles, title];
  }

  removed(id: string, acknowledged: boolean): void {
    if (!acknowledged) {
      this.model(id).certain = false;
      return;
    }
    this.acknowledged('delete');
    this.conversations.delete(id);
    this.deleted.add(id);
  }

  /** A user message sent; `seen` once its stream started (or its stream:false answer came), else undefined. */
  posted(id: string, question: string, seen: ReplySeen | undefined): void {
    const conversation = this.model(id);
    const titled = (title: string | null) => title ?? titleFrom(question);
    const user: Expected = { kind: 'user', content: question };
    if (seen !== undefined) {
      this.acknowledged('message');
      conversation.titles = conversation.titles.map(titled);
      const reply: Expected = { kind: 'reply', seen, full: this.reply };
      conversation.histories = conversation.histories.map((h) => [...h, user, reply]);
      return;
    }
    conversation.titles = [...new Set([...conversation.titles, ...conversation.titles.map(titled)])];
    conversation.histories = conversation.histories.flatMap((h) => [
      h,
      [...h, user],
      [...h, user, { kind: 'unacknowledged-reply', full: this.reply }],
    ]);
  }

  regenerated(id: string, seen: ReplySeen | undefined): void {
    const conversation = this.model(id);
    if (seen !== undefined) {
      this.acknowledged('regenerate');
      conversation.histories = conversation.histories.map((h) => [
        ...withoutLastReply(h),
        { kind: 'reply', seen, full: this.reply },
      ]);
      return;
    }
    conversation.histories = conversation.histories.flatMap((h) => [
      h,
      withoutLastReply(h),
      [...withoutLastReply(h), { kind: 'unacknowledged-reply', full: this.reply }],
    ]);
  }

  /**
   * Everything wrong with the database after a restart; `upstreamTokens` says how many tokens the upstream
   * had sent for the latest request answering a question. Then takes what it found as the new baseline.
   */
  verify(snapshot: DatabaseSnapshot, upstreamTokens: (question: string) => number | undefined): string[] {
    const problems = rowInvariants(snapshot);
    const byConversation = new Map<string, MessageRow[]>();
    for (const message of snapshot.messages) {
      const list = byConversation.get(message.conversation_id) ?? [];
      list.push(message);
      byConversation.set(message.conversation_id, list);
    }
    const found = new Map(snapshot.conversations.map((row) => [row.id, row]));
    for (const id of this.deleted) {
      if (found.delete(id)) problems.push(`deleted conversation ${id} is back`);
    }

    for (const conversation of [...this.conversations.values()]) {
      const row = found.get(conversation.id);
      found.delete(conversation.id);
      if (row === undefined) {
        if (conversation.certain) problems.push(`acknowledged conversation ${conversation.id} is missing`);
        this.conversations.delete(conversation.id);
        continue;
      }
      if (!conversation.titles.includes(row.title)) {
        problems.push(
          `conversation ${conversation.id} has title ${JSON.stringify(row.title)}, expected one of ${JSON.stringify(conversation.titles)}`,
        );
      }
      const messages = byConversation.get(conversation.id) ?? [];
      const history = conversation.histories.find((h) => matches(h, messages));
      if (history === undefined) {
        problems.push(
          `conversation ${conversation.id} holds ${describe(messages)}, which no acknowledged history allows: ${JSON.stringify(conversation.histories)}`,
        );
      } else {
        problems.push(...this.checkText(conversation.id, history, messages, upstreamTokens));
      }
      conversation.titles = [row.title];
      conversation.certain = true;
      conversation.histories = [
        messages.map(({ role, content, status, error }) => stored(role, content, status, error)),
      ];
    }

    // What is left was never acknowledged: a create whose 201 the kill cut off, and nothing else.
    for (const row of found.values()) {
      const at = this.pendingCreates.indexOf(row.title);
      if (at === -1 || byConversation.has(row.id)) {
        problems.push(`conversation ${row.id} (${JSON.stringify(row.title)}) was never created by the load`);
        continue;
      }
      this.pendingCreates.splice(at, 1);
      this.figures.unacknowledgedCreatesFound++;
      this.conversations.set(row.id, {
        id: row.id,
        titles: [row.title],
        certain: true,
        histories: [[]],
        busy: false,
      });
    }
    this.pendingCreates = [];
    return problems;
  }

  /**
   * What the design promises of a recovered reply's text, beyond it being a prefix of the reply: saves are
   * periodic (every 50 chunks or 500 ms), so it may miss what arrived since the last one, never more than
   * one window and the save then in flight (SAVE_SLACK_TOKENS); and the text is saved before it is written
   * to the client, and written before the save commits, so a client still reading had it all.
   */
  private checkText(
    id: string,
    history: Expected[],
    messages: MessageRow[],
    upstreamTokens: (question: string) => number | undefined,
  ): string[] {
    const problems: string[] = [];
    history.forEach((expected, index) => {
      const message = messages[index] as MessageRow;
      if (expected.kind !== 'reply') return;
      if (message.status === 'complete') {
        this.figures.foundComplete++;
        return;
      }
      const { seen } = expected;
      const storedTokens = tokensIn(message.content);
      this.figures.recoveredInterrupted++;
      if (!seen.stayed) this.figures.recoveredDetached++;
      if (storedTokens > 0) this.figures.recoveredWithText++;
      // A client that left had less than the reply ran on to; one that stayed had everything sent.
      const lag = tokensIn(seen.text) - storedTokens;
      if (seen.stayed) this.figures.maxLagTokens = Math.max(this.figures.maxLagTokens, lag);
      if (lag > SAVE_SLACK_TOKENS)
        problems.push(
          `conversation ${id}: recovered reply holds ${storedTokens} tokens, its client had ${tokensIn(seen.text)}`,
        );
      if (seen.stayed && !seen.text.startsWith(message.content))
        problems.push(
          `conversation ${id}: recovered reply holds ${storedTokens} tokens, more than its client had (${tokensIn(seen.text)})`,
        );
      const upstream = upstreamTokens(seen.question);
      if (upstream !== undefined)
        this.figures.maxUpstreamLagTokens = Math.max(
          this.figures.maxUpstreamLagTokens,
          upstream - storedTokens,
        );
    });
    return problems;
  }

  private acknowledged(kind: string): void {
    this.onAcknowledged?.();
    this.figures.acknowledgedWrites++;
    this.figures.acknowledgedByKind[kind] = (this.figures.acknowledgedByKind[kind] ?? 0) + 1;
  }

  private model(id: string): ConversationModel {
    const conversation = this.conversations.get(id);
    if (!conversation) throw new Error(`the load used conversation ${id}, which the ledger does not know`);
    return conversation;
  }
}

function stored(role: string, content: string, status: string, error: string | null): Expected {
  return { kind: 'stored', row: { role, content, status, error } };
}

function withoutLastReply(history: Expected[]): Expected[] {
  const last = history.at(-1);
  const isReply =
    last !== undefined &&
    (last.kind === 'reply' ||
      last.kind === 'unacknowledged-reply' ||
      (last.kind === 'stored' && last.row.role === 'assistant'));
  return isReply ? history.slice(0, -1) : history;
}

function matches(history: Expected[], messages: MessageRow[]): boolean {
  return (
    history.length === messages.length && history.every((e, i) => matchesOne(e, messages[i] as MessageRow))
  );
}

function matchesOne(expected: Expected, message: MessageRow): boolean {
  switch (expected.kind) {
    case 'stored':
      return (
        message.role === expected.row.role &&
        message.content === expected.row.content &&
        message.status === expected.row.status &&
        message.error === expected.row.error
      );
    case 'user':
      return message.role === 'user' && message.content === expected.content && message.status === 'complete';
    case 'reply':
      return message.role === 'assistant' && replyMatches(expected.seen, expected.full, message);
    case 'unacknowledged-reply':
      return (
        message.role === 'assistant' &&
        ((message.status === 'complete' && message.content === expected.full) ||
          (message.status === 'interrupted' &&
            message.error === RESTART_ERROR &&
            expected.full.startsWith(message.content)))
      );
  }
}

/**
 * A reply that had started: complete with the whole text if it finished before the kill (it must have, if
 * its client got the done line), else recovered as interrupted, holding a prefix of the reply.
 */
function replyMatches(seen: ReplySeen, full: string, message: MessageRow): boolean {
  if (message.status === 'complete') return message.content === full && message.error === null;
  if (seen.done) return false;
  return (
    message.status === 'interrupted' && message.error === RESTART_ERROR && full.startsWith(message.content)
  );
}

/** What must hold of the rows whatever the load did: the schema's promises and recovery's. */
function rowInvariants({ conversations, messages }: DatabaseSnapshot): string[] {
  const problems: string[] = [];
  const ids = new Set(conversations.map((row) => row.id));
  const lastSeq = new Map<string, number>();
  for (const message of messages) {
    if (!ids.has(message.conversation_id))
      problems.push(`message ${message.id} belongs to missing conversation ${message.conversation_id}`);
    const expectedSeq = (lastSeq.get(message.conversation_id) ?? 0) + 1;
    if (message.seq !== expectedSeq)
      problems.push(
        `conversation ${message.conversation_id}: seq ${message.seq} where ${expectedSeq} was due`,
      );
    lastSeq.set(message.conversation_id, message.seq);
    if (message.status === 'streaming')
      problems.push(`message ${message.id} is still streaming after recovery`);
    if (!['complete', 'interrupted', 'failed'].includes(message.status))
      problems.push(`message ${message.id} has status ${message.status}`);
    if (!['user', 'assistant', 'system'].includes(message.role))
      problems.push(`message ${message.id} has role ${message.role}`);
  }
  return problems;
}

function describe(messages: MessageRow[]): string {
  return JSON.stringify(
    messages.map((m) => ({ role: m.role, status: m.status, tokens: tokensIn(m.content), error: m.error })),
  );
}
