import type { ChunkBatch } from '../../contracts/chat-chunk.js';

/**
 * A host's stream that holds its place in the pool until it ends, however it ends: its last batch, an
 * error, or the relay letting go (`return`), which may come before the first `next`. `onEnd` runs once,
 * with the reply's text when the stream reached its `done` chunk, or with the error that cut it.
 */
export class LeasedStream implements AsyncIterableIterator<ChunkBatch> {
  private pending: ChunkBatch | undefined;
  private readonly text: string[] = [];
  private ended = false;

  constructor(
    private readonly inner: AsyncIterator<ChunkBatch>,
    first: ChunkBatch,
    private readonly onEnd: (reply: string | undefined, error?: unknown) => void,
  ) {
    this.pending = first;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChunkBatch>> {
    if (this.pending !== undefined) {
      const batch = this.pending;
      this.pending = undefined;
      this.observe(batch);
      return { done: false, value: batch };
    }
    let result: IteratorResult<ChunkBatch>;
    try {
      result = await this.inner.next();
    } catch (error) {
      this.end(undefined, error);
      throw error;
    }
    if (result.done) this.end(undefined);
    else this.observe(result.value);
    return result;
  }

  async return(): Promise<IteratorResult<ChunkBatch>> {
    this.end(undefined);
    await this.inner.return?.();
    return { done: true, value: undefined };
  }

  private observe(batch: ChunkBatch): void {
    if (this.ended) return;
    for (const chunk of batch) {
      if (chunk.type === 'delta') {
        if (chunk.content !== '') this.text.push(chunk.content);
      } else {
        // The host's slot is free once the reply is done, whatever is still being read after it.
        this.end(this.text.join(''));
        return;
      }
    }
  }

  private end(reply: string | undefined, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(reply, error);
  }
}
