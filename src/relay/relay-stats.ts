/** What the relay learned about one request, for its log line. */
export interface RelayStats {
  ttftMs?: number;
  tokens?: number;
  chunks: number;
  error?: string;
  /** Overrides the response status in the log (499 when the client left). */
  status?: number;
}

export function newRelayStats(): RelayStats {
  return { chunks: 0 };
}
