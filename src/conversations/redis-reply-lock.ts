import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryReplyLock, type ReplyLock } from './reply-lock.js';

/** Held for this long unless renewed, so the lock of an instance that died lapses on its own. */
const LOCK_MS = 30_000;
const RENEW_MS = 10_000;
/** Deletes the lock only if it is still this holder's. */
const RELEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * The lock across every instance on one Redis (REDIS_URL): SET NX with an expiry, renewed while the reply
 * runs. When Redis does not answer, this instance's own lock still holds (the limits' failure mode decides
 * nothing here: a duplicate turn is worse than a refused one only across instances).
 */
export class RedisReplyLock implements ReplyLock {
  private readonly redis: Redis;
  private readonly local = new MemoryReplyLock();
  private readonly held = new Map<string, string>();
  private readonly renewer: NodeJS.Timeout;

  constructor(url: string) {
    this.redis = new Redis(url, {
      connectTimeout: 2_000,
      commandTimeout: 2_000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    this.redis.on('error', () => {});
    this.renewer = setInterval(() => void this.renew(), RENEW_MS);
    this.renewer.unref();
  }

  async acquire(conversationId: string): Promise<boolean> {
    if (!(await this.local.acquire(conversationId))) return false;
    const token = randomUUID();
    try {
      const taken = await this.redis.set(lockKey(conversationId), token, 'PX', LOCK_MS, 'NX');
      if (taken === null) {
        await this.local.release(conversationId);
        return false;
      }
      this.held.set(conversationId, token);
    } catch {
      // Redis is down: only this instance's lock applies until it is back.
    }
    return true;
  }

  async release(conversationId: string): Promise<void> {
    await this.local.release(conversationId);
    const token = this.held.get(conversationId);
    this.held.delete(conversationId);
    if (token !== undefined)
      await this.redis.eval(RELEASE, 1, lockKey(conversationId), token).catch(() => {});
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const batch = this.redis.pipeline();
    for (const conversationId of this.held.keys()) batch.pexpire(lockKey(conversationId), LOCK_MS);
    await batch.exec().catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.renewer);
    this.redis.disconnect();
  }
}

function lockKey(conversationId: string): string {
  return `chatwire:reply-lock:${conversationId}`;
}
