import type { ChatChunk, ChunkBatch } from '../../contracts/chat-chunk.js';

/**
 * Hands chunks from llama.cpp's callbacks to the relay's reads. A read takes everything generated since the
 * last one as one batch, so a client that reads slowly gets fewer, larger writes. The callbacks cannot wait,
 * so nothing pushes back on generation: what is held is at most the reply itself, which num_predict (or the
 * sequence's context) bounds. Once the reader's signal aborts, reads fail with its reason at once, as an HTTP
 * body does, without handing over what is still queued.
 */
export class ChunkChannel implements AsyncIterable<ChunkBatch> {
  private pending: ChatChunk[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private iterated = false;

  /** `cancel` stops the producer when the reader leaves before the end. */
  constructor(
    private readonly signal: AbortSignal,
    private readonly cancel: () => void,
  ) {
    signal.addEventListener('abort', () => this.notify(), { once: true });
  }

  push(chunk: ChatChunk): void {
    if (this.ended) return;
    this.pending.push(chunk);
    if (chunk.type === 'done') this.ended = true;
    this.notify();
  }

  /** Ends the stream with an error after the chunks already pushed. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = { error };
    this.notify();
  }

  [Symbol.asyncIterator](): AsyncIterator<ChunkBatch> {
    if (this.iterated) throw new Error('a ChunkChannel is read once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<ChunkBatch>> {
    for (;;) {
      if (this.signal.aborted) throw this.signal.reason;
      if (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        return { done: false, value: batch };
      }
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        throw error;
      }
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private close(): void {
    if (!this.ended) this.cancel();
    this.ended = true;
    this.pending = [];
    this.failure = undefined;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
