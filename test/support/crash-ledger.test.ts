import { describe, expect, it } from 'vitest';
import { RESTART_ERROR } from '../../src/storage/kysely-conversation-store.js';
import type { ConversationRow, DatabaseSnapshot, MessageRow } from './crash-database.js';
import { CrashLedger, FULL_REPLY, REPLY_TOKENS, type ReplySeen } from './crash-ledger.js';

// The crash test is only as good as its checker: each way a crash could betray a client must be caught.

const noUpstream = () => undefined;

function row(id: string, seq: number, fields: Partial<MessageRow>): MessageRow {
  return {
    id: `${id}-${seq}`,
    conversation_id: id,
    seq,
    role: 'user',
    content: '',
    status: 'complete',
    error: null,
    ...fields,
  };
}

function prefix(tokens: number): string {
  return REPLY_TOKENS.slice(0, tokens).join('');
}

/** A ledger with one conversation 'a', titled, whose message `q` was answered by a stream still running. */
function runningReply(seen: Partial<ReplySeen> = {}): CrashLedger {
  const ledger = new CrashLedger();
  ledger.created('a', 'chat');
  ledger.posted('a', 'q', { question: 'q', text: prefix(80), done: false, stayed: true, ...seen });
  return ledger;
}

function snapshot(
  messages: MessageRow[],
  conversations: ConversationRow[] = [{ id: 'a', title: 'chat' }],
): DatabaseSnapshot {
  return { conversations, messages };
}

describe('the crash ledger', () => {
  it('accepts a running reply recovered as interrupted with a prefix of what its client had', () => {
    const ledger = runningReply();
    const problems = ledger.verify(
      snapshot([
        row('a', 1, { content: 'q' }),
        row('a', 2, { role: 'assistant', content: prefix(50), status: 'interrupted', error: RESTART_ERROR }),
      ]),
      noUpstream,
    );
    expect(problems).toEqual([]);
    expect(ledger.figures).toMatchObject({ recoveredInterrupted: 1, recoveredWithText: 1, maxLagTokens: 30 });
  });

  it('reports an acknowledged message that is missing', () => {
    const problems = runningReply().verify(snapshot([row('a', 1, { content: 'q' })]), noUpstream);
    expect(problems.join()).toMatch(/no acknowledged history allows/);
  });

  it('reports a reply left streaming, and a gap in the order', () => {
    const problems = runningReply().verify(
      snapshot([
        row('a', 1, { content: 'q' }),
        row('a', 3, { role: 'assistant', content: prefix(50), status: 'streaming' }),
      ]),
      noUpstream,
    );
    expect(problems.join('\n')).toMatch(/still streaming after recovery/);
    expect(problems.join('\n')).toMatch(/seq 3 where 2 was due/);
  });

  it('reports stored text that is not what was sent, more than its client had, or lagging over a window', () => {
    const interrupted = (content: string) =>
      snapshot([
        row('a', 1, { content: 'q' }),
        row('a', 2, { role: 'assistant', content, status: 'interrupted', error: RESTART_ERROR }),
      ]);
    expect(runningReply().verify(interrupted('garbage '), noUpstream).join()).toMatch(
      /no acknowledged history/,
    );
    expect(
      runningReply()
        .verify(interrupted(prefix(81)), noUpstream)
        .join(),
    ).toMatch(/more than its client had/);
    expect(
      runningReply({ text: FULL_REPLY })
        .verify(interrupted(prefix(2)), noUpstream)
        .join(),
    ).toMatch(/its client had 120/);
  });

  it('reports a reply whose client got the done line but that is not stored complete', () => {
    const problems = runningReply({ text: FULL_REPLY, done: true }).verify(
      snapshot([
        row('a', 1, { content: 'q' }),
        row('a', 2, { role: 'assistant', content: FULL_REPLY, status: 'interrupted', error: RESTART_ERROR }),
      ]),
      noUpstream,
    );
    expect(problems.join()).toMatch(/no acknowledged history allows/);
  });

  it('reports an acknowledged conversation missing, a deleted one back, a rename lost and one never created', () => {
    const ledger = new CrashLedger();
    ledger.created('a', 'chat');
    ledger.created('b', 'other');
    ledger.created('c', 'third');
    ledger.removed('b', true);
    ledger.renamed('c', 'renamed', true);
    const problems = ledger.verify(
      snapshot(
        [],
        [
          { id: 'b', title: 'other' },
          { id: 'c', title: 'third' },
          { id: 'd', title: 'stray' },
        ],
      ),
      noUpstream,
    );
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/acknowledged conversation a is missing/);
    expect(problems.join('\n')).toMatch(/deleted conversation b is back/);
    expect(problems.join('\n')).toMatch(/title "third"/);
    expect(problems.join('\n')).toMatch(/conversation d .* was never created/);
  });

  it('allows what an unacknowledged request may or may not have done, and then holds to what it found', () => {
    const ledger = new CrashLedger();
    ledger.created('a', null);
    ledger.posted('a', 'first question', undefined);
    ledger.createSent('lost answer');
    const found = snapshot(
      [row('a', 1, { content: 'first question' })],
      [
        { id: 'a', title: 'first question' },
        { id: 'e', title: 'lost answer' },
      ],
    );
    expect(ledger.verify(found, noUpstream)).toEqual([]);
    expect(ledger.verify(snapshot([], found.conversations), noUpstream).join()).toMatch(
      /no acknowledged history/,
    );
  });
});
