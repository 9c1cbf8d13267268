import type { RouteNote } from '../upstream/chat-upstream.js';

/** What the relay learned about one request, for its log line and metrics. Times are performance.now(). */
export interface RelayStats extends RouteNote {
  /** When the request arrived. */
  receivedAt: number;
  /** The model asked of the upstream, once a relay began. */
  model?: string;
  /** When the relay called the upstream. */
  upstreamCalledAt?: number;
  /** From the upstream call to its first chunk. */
  ttftMs?: number;
  /** Streams: when the first chunk's bytes were written to the client. */
  firstWriteAt?: number;
  tokens?: number;
  promptTokens?: number;
  chunks: number;
  error?: string;
  /**
   * Set for a detached generation: it resolves when the generation ends, which may be after the client
   * left, so what the request holds (its stream under the limits) is held until then.
   */
  outlives?: Promise<void>;
  /** The error the relay ended with, for metrics to classify; never logged as is. */
  failure?: unknown;
}

export function newRelayStats(receivedAt = performance.now()): RelayStats {
  return { receivedAt, chunks: 0 };
}
