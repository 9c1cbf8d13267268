import type { ChatChunk, ChunkBatch } from '../../contracts/chat-chunk.js';
import { mergeReply } from '../../contracts/merge-reply.js';
import { encodeNdjson } from '../ndjson/ndjson-decoder.js';

/**
 * Ollama's `/api/chat` wire format as the downstream speaks it. Chunks that came from an Ollama upstream
 * carry their original line and are relayed byte for byte (Go's `\u003c` escapes and field order included);
 * others are encoded from the chunk.
 */
export const ollamaChatEncoder = {
  contentType: 'application/x-ndjson',
  format: 'ndjson' as const,

  batch(batch: ChunkBatch): Buffer {
    const first = lineOf(batch[0] as ChatChunk);
    if (batch.length === 1) return first;
    // Lines from one read sit side by side in its buffer: write them as one view of it, without a copy.
    let end = first.byteOffset + first.length;
    for (let index = 1; index < batch.length; index++) {
      const line = lineOf(batch[index] as ChatChunk);
      if (line.buffer !== first.buffer || line.byteOffset !== end) return Buffer.concat(batch.map(lineOf));
      end += line.length;
    }
    return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
  },

  /** One frame (line) per chunk, for a generation's log: views of the upstream's bytes, not copies. */
  frames(batch: ChunkBatch): Buffer[] {
    return batch.map(lineOf);
  },

  errorLine(error: { message: string }): string {
    return encodeNdjson({ error: error.message });
  },

  /** The `stream:false` answer: the final chunk's metadata with the whole message merged, as Ollama does. */
  reply(chunks: ChatChunk[]): Record<string, unknown> {
    const { content, thinking, toolCalls, done } = mergeReply(chunks);
    const message: Record<string, unknown> = { role: 'assistant', content };
    if (thinking !== '') message.thinking = thinking;
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return { ...toOllamaObject(done), message };
  },
};

const NEWLINE = Buffer.from('\n');

function lineOf(chunk: ChatChunk): Buffer {
  if (chunk.wire?.protocol === 'ollama-ndjson') {
    const { bytes } = chunk.wire;
    // Ollama answers a model load (empty messages) with one unterminated object; a stream needs the newline.
    return bytes[bytes.length - 1] === 0x0a ? bytes : Buffer.concat([bytes, NEWLINE]);
  }
  return Buffer.from(encodeNdjson(toOllamaObject(chunk)));
}

/** The chunk as an Ollama `/api/chat` object: the upstream's own object when it came from Ollama. */
export function toOllamaObject(chunk: ChatChunk): Record<string, unknown> {
  if (chunk.wire?.protocol === 'ollama-ndjson') return chunk.wire.object;
  const base = { model: chunk.model, created_at: new Date().toISOString() };
  if (chunk.type === 'delta') {
    const message: Record<string, unknown> = { role: 'assistant', content: chunk.content };
    if (chunk.thinking) message.thinking = chunk.thinking;
    if (chunk.toolCalls) message.tool_calls = chunk.toolCalls;
    return { ...base, message, done: false };
  }
  const object: Record<string, unknown> = {
    ...base,
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: chunk.doneReason,
  };
  const metrics: Array<[string, number | undefined]> = [
    ['total_duration', chunk.durations.total],
    ['load_duration', chunk.durations.load],
    ['prompt_eval_count', chunk.usage.promptTokens],
    ['prompt_eval_duration', chunk.durations.promptEval],
    ['eval_count', chunk.usage.completionTokens],
    ['eval_duration', chunk.durations.eval],
  ];
  // Ollama omits zero metrics; clients default them to 0.
  for (const [key, value] of metrics) if (value) object[key] = value;
  return object;
}
