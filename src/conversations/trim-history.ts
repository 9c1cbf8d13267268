import type { ChatMessage } from '../contracts/chat-request.js';

/**
 * A rough token count: about four characters per token for English text, plus a few tokens of framing per
 * message. It errs high for code and for languages with multibyte scripts, which only trims earlier.
 */
export function estimateTokens(message: { content: string }): number {
  return Math.ceil(message.content.length / 4) + 4;
}

/**
 * The history that fits the context budget: the system prompt (if any) always, then the newest messages
 * that fit, oldest dropped first. The newest message is kept even if it alone exceeds the budget: the
 * upstream then truncates or refuses it, which says more than silently sending nothing.
 */
export function trimHistory(
  system: ChatMessage | undefined,
  history: ChatMessage[],
  budget: number,
): ChatMessage[] {
  let remaining = budget - (system ? estimateTokens(system) : 0);
  const kept: ChatMessage[] = [];
  for (let index = history.length - 1; index >= 0; index--) {
    const message = history[index] as ChatMessage;
    const cost = estimateTokens(message);
    if (kept.length > 0 && cost > remaining) break;
    kept.unshift(message);
    remaining -= cost;
  }
  return system ? [system, ...kept] : kept;
}

/** A conversation's title from its first user message: one line, at most `max` characters, cut at a word. */
export function titleFrom(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
