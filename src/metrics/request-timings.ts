import type { RelayStats } from '../relay/relay-stats.js';

/**
 * When the client had the first token, from the request's arrival: for a stream, the moment the first
 * chunk's bytes were written to the client's socket; for a reply collected whole, the moment the first
 * upstream chunk arrived (the client sees nothing before the end). Undefined when no token came.
 */
export function timeToFirstTokenMs(stats: RelayStats): number | undefined {
  const firstChunkAt = firstChunkAtOf(stats);
  if (firstChunkAt === undefined) return undefined;
  return (stats.firstWriteAt ?? firstChunkAt) - stats.receivedAt;
}

/**
 * chatwire's own part of the time to first token: the time to first token less the wait on the upstream.
 * That is from the request's arrival to the relay calling the upstream (body parsing, validation, the
 * persona, a conversation's history from the store), plus from the first upstream chunk to its bytes being
 * written to the client (parsing, encoding, the write). The wait on the upstream, from the call to its
 * first chunk, includes the pool's wait for a host with room, its routing decision and retries on another
 * host: `queuedMs` in the request log tells the wait apart. Undefined when no token came.
 */
export function gatewayOverheadMs(stats: RelayStats): number | undefined {
  const firstChunkAt = firstChunkAtOf(stats);
  if (firstChunkAt === undefined || stats.upstreamCalledAt === undefined) return undefined;
  const before = stats.upstreamCalledAt - stats.receivedAt;
  const after = stats.firstWriteAt === undefined ? 0 : stats.firstWriteAt - firstChunkAt;
  return Math.max(0, before + after);
}

function firstChunkAtOf(stats: RelayStats): number | undefined {
  if (stats.upstreamCalledAt === undefined || stats.ttftMs === undefined) return undefined;
  return stats.upstreamCalledAt + stats.ttftMs;
}
