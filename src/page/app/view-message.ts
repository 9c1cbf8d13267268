import type { ConversationMessage } from '../../client/index';
import type { Explained } from './explain-error';
import type { LiveReply } from './live-reply';
import type { ReplyStats } from './run-reply';

export type MessageState = 'complete' | 'streaming' | 'stopped' | 'cut' | 'failed';

/** A message as the page shows it: stored, or the reply streaming in right now (`live`). */
export interface ViewMessage {
  key: string;
  role: 'user' | 'assistant';
  content: string;
  state: MessageState;
  error?: Explained;
  stats?: ReplyStats;
  live?: LiveReply;
}

let localIds = 0;
export const localKey = () => `local-${++localIds}`;

/** A stored message in the page's terms: an interrupted reply was stopped, a failed one was cut or failed. */
export function fromStored(message: ConversationMessage): ViewMessage {
  const role = message.role === 'assistant' ? 'assistant' : 'user';
  const base = { key: message.id, role, content: message.content } as const;
  switch (message.status) {
    case 'complete':
      return { ...base, state: 'complete', stats: storedStats(message) };
    case 'streaming':
      return { ...base, state: 'streaming' };
    case 'interrupted':
      return { ...base, state: 'stopped' };
    case 'failed': {
      const error = { text: message.error ?? 'The reply failed.' };
      return { ...base, state: message.content === '' ? 'failed' : 'cut', error };
    }
  }
}

function storedStats(message: ConversationMessage): ReplyStats {
  const { ttftMs, durationMs, completionTokens } = message;
  const generatingMs = durationMs !== null && ttftMs !== null ? durationMs - ttftMs : null;
  return {
    ...(ttftMs !== null && { ttftMs }),
    ...(generatingMs !== null &&
      generatingMs > 0 &&
      completionTokens !== null && { tokensPerSecond: (completionTokens * 1000) / generatingMs }),
  };
}
