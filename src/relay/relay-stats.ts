import type { RouteNote } from '../upstream/chat-upstream.js';

/** What the relay learned about one request, for its log line. */
export interface RelayStats extends RouteNote {
  ttftMs?: number;
  tokens?: number;
  chunks: number;
  error?: string;
}

export function newRelayStats(): RelayStats {
  return { chunks: 0 };
}
