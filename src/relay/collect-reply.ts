import type { ChatChunk } from '../contracts/chat-chunk.js';
import type { RelayStats } from './relay-stats.js';
import type { UpstreamCall } from './upstream-call.js';

/** Reads a whole reply for a non-streaming client; any failure throws before anything was sent. */
export async function collectReply(call: UpstreamCall, stats: RelayStats): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for (;;) {
    const batch = await call.next();
    if (batch === undefined) break;
    chunks.push(...batch);
    stats.chunks += batch.length;
    const last = batch[batch.length - 1];
    if (last?.type === 'done') {
      stats.ttftMs = call.firstChunkMs;
      stats.tokens = last.usage.completionTokens;
      break;
    }
  }
  void call.finish();
  return chunks;
}
