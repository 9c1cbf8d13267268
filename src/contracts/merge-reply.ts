import type { ChatChunk, DoneChunk, ToolCall } from './chat-chunk.js';

export interface MergedReply {
  content: string;
  thinking: string;
  toolCalls: ToolCall[];
  done: DoneChunk;
}

/** A whole reply from its chunks, for the non-streaming answers of every protocol. */
export function mergeReply(chunks: ChatChunk[]): MergedReply {
  let content = '';
  let thinking = '';
  const toolCalls: ToolCall[] = [];
  let done: DoneChunk | undefined;
  for (const chunk of chunks) {
    if (chunk.type === 'done') {
      done = chunk;
      continue;
    }
    content += chunk.content;
    if (chunk.thinking) thinking += chunk.thinking;
    if (chunk.toolCalls) toolCalls.push(...chunk.toolCalls);
  }
  if (done === undefined) throw new Error('mergeReply() needs the final chunk');
  return { content, thinking, toolCalls, done };
}
