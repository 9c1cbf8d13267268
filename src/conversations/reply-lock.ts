/** One reply at a time per conversation: `acquire` is false while another is being generated. */
export interface ReplyLock {
  acquire(conversationId: string): Promise<boolean>;
  release(conversationId: string): Promise<void>;
  close(): Promise<void>;
}

/** The lock of one instance. */
export class MemoryReplyLock implements ReplyLock {
  private readonly busy = new Set<string>();

  async acquire(conversationId: string): Promise<boolean> {
    if (this.busy.has(conversationId)) return false;
    this.busy.add(conversationId);
    return true;
  }

  async release(conversationId: string): Promise<void> {
    this.busy.delete(conversationId);
  }

  async close(): Promise<void> {}
}
