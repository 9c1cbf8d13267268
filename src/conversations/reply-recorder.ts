import type { ChunkBatch } from '../contracts/chat-chunk.js';
import type { ConversationStore, ReplyOutcome } from '../storage/conversation-store.js';

export interface RecorderOptions {
  /** Save the text at least this often while it grows. */
  intervalMs: number;
  /** …and after this many chunks, whichever comes first. */
  everyChunks: number;
  onSaveError(error: unknown): void;
}

type Ending =
  | Omit<Extract<ReplyOutcome, { status: 'complete' }>, 'content'>
  | { status: 'interrupted'; error: string | null }
  | { status: 'failed'; error: string };

/**
 * Keeps an assistant reply in the store while it streams: the text so far is saved every interval or every
 * N chunks, one save at a time, so a crash loses at most one window and the store never sees saves out of
 * order. `finish` waits for the last save, then records the outcome with the whole text.
 */
export class ReplyRecorder {
  private text = '';
  private savedText = '';
  private chunksSinceSave = 0;
  private saving: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ConversationStore,
    private readonly messageId: string,
    private readonly options: RecorderOptions,
  ) {
    this.timer = setInterval(() => this.save(), options.intervalMs);
    this.timer.unref();
  }

  get content(): string {
    return this.text;
  }

  observe(batch: ChunkBatch): void {
    for (const chunk of batch) {
      if (chunk.type !== 'delta' || chunk.content === '') continue;
      this.text += chunk.content;
      this.chunksSinceSave++;
    }
    if (this.chunksSinceSave >= this.options.everyChunks) this.save();
  }

  async finish(ending: Ending): Promise<void> {
    clearInterval(this.timer);
    await this.saving;
    await this.store.finishReply(this.messageId, { ...ending, content: this.text } as ReplyOutcome);
  }

  private save(): void {
    if (this.text === this.savedText) return;
    const snapshot = this.text;
    this.savedText = snapshot;
    this.chunksSinceSave = 0;
    this.saving = this.saving
      .then(() => this.store.saveReplyProgress(this.messageId, snapshot))
      .catch(this.options.onSaveError);
  }
}
