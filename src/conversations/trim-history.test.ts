import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../contracts/chat-request.js';
import { estimateTokens, titleFrom, trimHistory } from './trim-history.js';

const message = (role: ChatMessage['role'], chars: number, tag: string): ChatMessage => ({
  role,
  content: tag.padEnd(chars, '.'),
});

describe('trimHistory', () => {
  const system = message('system', 40, 'sys');
  const history = [message('user', 400, 'u1'), message('assistant', 400, 'a1'), message('user', 400, 'u2')];

  it('keeps everything that fits', () => {
    expect(trimHistory(system, history, 10_000)).toEqual([system, ...history]);
  });

  it('drops the oldest turns first and always keeps the system prompt', () => {
    const budget = estimateTokens(system) + estimateTokens(history[1] as ChatMessage) * 2;
    expect(trimHistory(system, history, budget).map((m) => m.content.slice(0, 3))).toEqual([
      'sys',
      'a1.',
      'u2.',
    ]);
  });

  it('keeps the newest message even when it alone is over budget', () => {
    expect(trimHistory(system, history, 10)).toEqual([system, history[2]]);
  });

  it('works without a system prompt', () => {
    expect(trimHistory(undefined, history, 10_000)).toEqual(history);
  });
});

describe('titleFrom', () => {
  it('keeps a short first message as it is, on one line', () => {
    expect(titleFrom('  Why is\nthe sky blue? ')).toBe('Why is the sky blue?');
  });

  it('cuts a long one at a word, with an ellipsis', () => {
    const title = titleFrom(
      'Explain the difference between TCP and UDP for a streaming chat gateway in detail please',
    );
    expect(title.length).toBeLessThanOrEqual(60);
    expect(title).toBe('Explain the difference between TCP and UDP for a streaming…');
  });
});
