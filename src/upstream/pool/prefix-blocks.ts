import type { ChatMessage } from '../../contracts/chat-request.js';

/**
 * Characters per block of the rendered conversation: about 64 tokens. A slot's reusable prefix is
 * estimated to this resolution, without a tokenizer.
 */
export const BLOCK_CHARS = 256;
/** The usual 4 characters per token of English text, for logs that speak in tokens. */
export const CHARS_PER_TOKEN = 4;

// Kept as signed 32-bit integers throughout, which V8 keeps unboxed; Uint32Array.from wraps them at the end.
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/**
 * Chained hashes of fixed-size blocks of a conversation as the model reads it: block i's hash covers
 * blocks 0..i, so two chains agree up to index i exactly when their texts share that prefix (but for
 * 32-bit collisions, which only ever misroute). Only whole blocks count; the tail waits for more text.
 */
export class PrefixHasher {
  private readonly hashes: number[] = [];
  private chain = FNV_OFFSET;
  private state = FNV_OFFSET;
  private filled = 0;

  /** Renders each message as the role, then its content, with separators no text contains. */
  pushMessages(messages: readonly ChatMessage[]): this {
    for (const message of messages) {
      this.push('\u0001');
      this.push(message.role);
      this.push('\u0002');
      this.push(message.content);
    }
    return this;
  }

  /** The opening of an assistant message: what a reply that is still streaming extends. */
  pushReplyStart(): this {
    this.push('\u0001assistant\u0002');
    return this;
  }

  push(text: string): void {
    let state = this.state;
    let filled = this.filled;
    let i = 0;
    while (i < text.length) {
      // The inner loop runs to the end of the block (or text) with nothing else to test per character.
      const end = Math.min(text.length, i + BLOCK_CHARS - filled);
      for (let j = i; j < end; j++) state = Math.imul(state ^ text.charCodeAt(j), FNV_PRIME);
      filled += end - i;
      i = end;
      if (filled === BLOCK_CHARS) {
        this.chain = Math.imul(this.chain ^ state, FNV_PRIME);
        this.hashes.push(this.chain);
        state = this.chain;
        filled = 0;
      }
    }
    this.state = state;
    this.filled = filled;
  }

  /** The chain so far; later pushes do not change the array returned. */
  blocks(): Uint32Array {
    return Uint32Array.from(this.hashes);
  }

  get length(): number {
    return this.hashes.length;
  }
}

/**
 * What identifies a conversation without a stored id: its opening (the messages up to its first user
 * message), which every later request of it repeats. Two conversations that open alike share it, which
 * costs only a tie-break.
 */
export function conversationKey(messages: readonly ChatMessage[]): string {
  const end = messages.findIndex((message) => message.role === 'user');
  const opening = new PrefixHasher();
  opening.pushMessages(messages.slice(0, end + 1));
  opening.push('\u0003'.repeat(BLOCK_CHARS));
  return `opening:${opening.blocks().at(-1)}`;
}

export function conversationBlocks(messages: readonly ChatMessage[]): Uint32Array {
  return new PrefixHasher().pushMessages(messages).blocks();
}

/**
 * How many leading blocks two chains share. Because each hash covers everything before it, equality is
 * monotone along the chains, and a binary search finds the end of the common prefix in O(log n).
 */
export function commonBlocks(a: Uint32Array, b: Uint32Array): number {
  let low = 0;
  let high = Math.min(a.length, b.length);
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (a[mid - 1] === b[mid - 1]) low = mid;
    else high = mid - 1;
  }
  return low;
}
