import type { ChatChunk, ChunkBatch } from '../../contracts/chat-chunk.js';
import { encodeNdjson } from '../ndjson/ndjson-decoder.js';
import { ollamaChatEncoder, toOllamaObject } from './ollama-chat-encoder.js';

/**
 * Ollama's `/api/generate` format, produced from chat chunks: chatwire serves generate as a one-turn chat, so
 * it works over every upstream kind. `response` replaces `message`; `context` (deprecated upstream) is absent.
 */
export const ollamaGenerateEncoder = {
  contentType: 'application/x-ndjson',
  format: 'ndjson' as const,

  batch(batch: ChunkBatch): string {
    let text = '';
    for (const chunk of batch) text += encodeNdjson(toGenerateObject(chunk));
    return text;
  },

  frames(batch: ChunkBatch): string[] {
    return batch.map((chunk) => encodeNdjson(toGenerateObject(chunk)));
  },

  errorLine: ollamaChatEncoder.errorLine,

  reply(chunks: ChatChunk[]): Record<string, unknown> {
    const chat = ollamaChatEncoder.reply(chunks);
    const { message, ...rest } = chat as { message: { content: string; thinking?: string } };
    return withResponse(rest, message.content, message.thinking);
  },
};

function toGenerateObject(chunk: ChatChunk): Record<string, unknown> {
  const { message, ...rest } = toOllamaObject(chunk) as { message?: { content?: string; thinking?: string } };
  return withResponse(rest, message?.content ?? '', message?.thinking);
}

/** Keeps Ollama's field order: model, created_at, response, thinking, done, … */
function withResponse(fields: Record<string, unknown>, response: string, thinking: string | undefined) {
  const { model, created_at, ...rest } = fields;
  return { model, created_at, response, ...(thinking ? { thinking } : {}), ...rest };
}
