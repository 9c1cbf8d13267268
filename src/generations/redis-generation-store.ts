import { Redis } from 'ioredis';
import type { GatewayError } from '../contracts/gateway-error.js';
import { errorFrame } from './error-frame.js';
import { generationErrors } from './generation-errors.js';
import type {
  Frame,
  FrameRead,
  GenerationInfo,
  GenerationLimits,
  GenerationReader,
  GenerationStore,
  ProducedGeneration,
} from './generation-types.js';
import { MemoryGenerationStore } from './memory-generation-store.js';

/** A producer renews its heartbeat this often; a resumer that finds it expired declares the generation lost. */
const HEARTBEAT_MS = 1_000;
const HEARTBEAT_TTL_MS = 3_000;
/** How long a resumer's XREAD blocks before it looks at the heartbeat again. */
const BLOCK_MS = 1_000;
const STOP_CHANNEL = 'chatwire:generation-stop';

const keys = {
  meta: (id: string) => `chatwire:generation:${id}`,
  frames: (id: string) => `chatwire:generation:${id}:frames`,
  alive: (id: string) => `chatwire:generation:${id}:alive`,
  running: (conversationId: string) => `chatwire:conversation:${conversationId}:generation`,
};

interface Pending {
  produced: ProducedGeneration;
  info: GenerationInfo;
  queue: Array<[seq: number, frame: Frame]>;
  /** Set once the terminal frame is queued. */
  endState?: string;
  /** The pipeline in flight, if any: one at a time keeps the entries in order. */
  flushing?: Promise<void>;
}

/**
 * Generations shared by every instance on one Redis (REDIS_URL). The producing instance keeps its frames in
 * memory as without Redis (its live clients and local resumers read them there) and copies each to a Redis
 * Stream, `XADD <generation>:frames 0-<n>`: the frame number is the entry id, so a copy is never added twice
 * or out of order. Appends never wait for Redis: they are queued and sent in one pipeline per round trip.
 * Resumers elsewhere read with XRANGE, then XREAD BLOCK; a heartbeat key with a short expiry tells them the
 * producer is alive, and when it lapses before the end they close the log with one "lost" error frame.
 * Stops are published; each instance stops the generations it produces.
 */
export class RedisGenerationStore implements GenerationStore {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly local: MemoryGenerationStore;
  private readonly producing = new Map<string, Pending>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly blockers = new Set<Redis>();

  constructor(
    url: string,
    private readonly limits: GenerationLimits,
  ) {
    this.local = new MemoryGenerationStore(limits);
    const options = { connectTimeout: 2_000, maxRetriesPerRequest: 1 };
    this.redis = new Redis(url, { ...options, commandTimeout: 2_000 });
    this.redis.on('error', () => {});
    this.subscriber = new Redis(url, options);
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, id: string) => {
      void this.local.stop(id, generationErrors.stopped(id));
    });
    void this.subscriber.subscribe(STOP_CHANNEL).catch(() => {});
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get bytes(): number {
    return this.local.bytes;
  }

  begin(info: Omit<GenerationInfo, 'id'>, stop: (reason: GatewayError) => void): ProducedGeneration {
    const produced = this.local.begin(info, stop);
    const full: GenerationInfo = { ...info, id: produced.id };
    const pending: Pending = { produced, info: full, queue: [] };
    this.producing.set(produced.id, pending);
    const batch = this.redis.multi();
    batch.hset(keys.meta(full.id), {
      owner: full.owner ?? '',
      format: full.format,
      policy: full.policy,
      conversation: full.conversationId ?? '',
      state: 'running',
    });
    batch.set(keys.alive(full.id), '1', 'PX', HEARTBEAT_TTL_MS);
    if (full.conversationId !== undefined) batch.set(keys.running(full.conversationId), full.id);
    this.expire(batch, pending, this.limits.ttlMs + HEARTBEAT_TTL_MS);
    void batch.exec().catch(() => {});
    const queue = (frames: Frame[], from: number) => {
      for (let index = 0; index < frames.length; index++)
        pending.queue.push([from + index, frames[index] as Frame]);
      this.flush(pending);
    };
    return {
      id: produced.id,
      get lastSeq() {
        return produced.lastSeq;
      },
      get firstSeq() {
        return produced.firstSeq;
      },
      append: (frames) => {
        const from = produced.lastSeq + 1;
        const out = produced.append(frames);
        queue(frames, from);
        return out;
      },
      end: (state, frames) => {
        const from = produced.lastSeq + 1;
        const out = produced.end(state, frames);
        pending.endState = state;
        queue(frames, from);
        return out;
      },
      detached: () => produced.detached(),
      delivered: () => {
        produced.delivered();
        // MINID keeps the terminal frame whether or not its XADD has been sent yet.
        void this.redis.xtrim(keys.frames(produced.id), 'MINID', `0-${produced.lastSeq}`).catch(() => {});
      },
      reader: () => produced.reader(),
    };
  }

  async find(id: string): Promise<GenerationReader | undefined> {
    const local = await this.local.find(id);
    if (local !== undefined) return local;
    const meta = await this.redis.hgetall(keys.meta(id));
    if (meta.format === undefined) return undefined;
    const info: GenerationInfo = {
      id,
      owner: meta.owner || null,
      format: meta.format === 'sse' ? 'sse' : 'ndjson',
      policy: meta.policy === 'detach' ? 'detach' : 'abort',
      ...(meta.conversation && { conversationId: meta.conversation }),
    };
    return { info, read: (after, signal) => this.read(info, after, signal) };
  }

  async findRunning(conversationId: string): Promise<GenerationReader | undefined> {
    const local = await this.local.findRunning(conversationId);
    if (local !== undefined) return local;
    const id = await this.redis.get(keys.running(conversationId));
    if (id === null) return undefined;
    if ((await this.redis.hget(keys.meta(id), 'state')) !== 'running') return undefined;
    return this.find(id);
  }

  async stop(id: string, reason: GatewayError): Promise<boolean> {
    if (this.local.produces(id)) return this.local.stop(id, reason);
    if ((await this.redis.exists(keys.meta(id))) === 0) return this.local.stop(id, reason);
    await this.redis.publish(STOP_CHANNEL, id);
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await Promise.allSettled([...this.producing.values()].map((pending) => this.settled(pending)));
    for (const blocker of this.blockers) blocker.disconnect();
    await this.local.close();
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  /** Sends the queued frames in one pipeline, then whatever was queued meanwhile; one flush at a time. */
  private flush(pending: Pending): void {
    if (pending.flushing !== undefined || pending.queue.length === 0) return;
    const { id } = pending.info;
    const frames = pending.queue.splice(0);
    const batch = this.redis.pipeline();
    const ended = pending.endState !== undefined;
    frames.forEach(([seq, frame], index) => {
      const terminal = ended && index === frames.length - 1;
      batch.xadd(keys.frames(id), `0-${seq}`, 'f', frame, ...(terminal ? ['t', '1'] : []));
    });
    const first = pending.produced.firstSeq;
    if (first > 1) batch.xtrim(keys.frames(id), 'MINID', `0-${first}`);
    if (ended) {
      batch.hset(keys.meta(id), 'state', pending.endState as string);
      batch.del(keys.alive(id));
      if (pending.info.conversationId !== undefined) batch.del(keys.running(pending.info.conversationId));
      this.expire(batch, pending, this.limits.ttlMs);
    }
    pending.flushing = batch
      .exec()
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        pending.flushing = undefined;
        if (ended) this.producing.delete(id);
        else this.flush(pending);
      });
  }

  /** Resolves once every frame queued so far is in Redis (or Redis refused it). */
  private async settled(pending: Pending): Promise<void> {
    while (pending.flushing !== undefined) await pending.flushing;
  }

  /**
   * A generation's keys expire on their own: a TTL after its end, or while it runs a TTL after the last
   * heartbeat, so those of an instance that died are gone a TTL later even if nobody resumed them.
   */
  private expire(batch: ReturnType<Redis['pipeline']>, pending: Pending, ms: number): void {
    const { id, conversationId } = pending.info;
    for (const key of [keys.meta(id), keys.frames(id)]) batch.pexpire(key, ms);
    if (conversationId !== undefined && pending.endState === undefined)
      batch.pexpire(keys.running(conversationId), ms);
  }

  private beat(): void {
    if (this.producing.size === 0) return;
    const batch = this.redis.pipeline();
    for (const pending of this.producing.values()) {
      if (pending.endState !== undefined) continue;
      batch.set(keys.alive(pending.info.id), '1', 'PX', HEARTBEAT_TTL_MS);
      this.expire(batch, pending, this.limits.ttlMs + HEARTBEAT_TTL_MS);
    }
    void batch.exec().catch(() => {});
  }

  /** A resumer's read on an instance that does not produce the generation. */
  private async read(info: GenerationInfo, after: number, signal: AbortSignal): Promise<FrameRead> {
    const key = keys.frames(info.id);
    const range = async (): Promise<FrameRead | undefined> => {
      const entries = await this.redis.xrange(key, `0-${after + 1}`, '+', 'COUNT', 512);
      if (entries.length === 0) return undefined;
      if (seqOf(entries[0]?.[0] as string) > after + 1) return 'evicted';
      const frames = entries.map(([, fields]) => fields[1] as string);
      const last = entries[entries.length - 1] as [string, string[]];
      return { frames, end: last[1][2] === 't' };
    };
    for (;;) {
      const now = await range();
      if (now !== undefined) return now;
      const state = await this.redis.hget(keys.meta(info.id), 'state');
      // The end is stored after its terminal frame, so the frames may have arrived since the range above.
      if (state !== null && state !== 'running') return (await range()) ?? { frames: [], end: true };
      if (signal.aborted) return { frames: [], end: false };
      if (
        !(await this.waitForMore(key, after, signal)) &&
        (await this.redis.exists(keys.alive(info.id))) === 0
      ) {
        await this.declareLost(info);
      }
    }
  }

  /** XREAD BLOCK on a connection of its own (a blocked connection can do nothing else); false on timeout. */
  private async waitForMore(key: string, after: number, signal: AbortSignal): Promise<boolean> {
    const blocker = this.redis.duplicate({ commandTimeout: undefined });
    blocker.on('error', () => {});
    this.blockers.add(blocker);
    const leave = () => blocker.disconnect();
    signal.addEventListener('abort', leave, { once: true });
    try {
      const result = await blocker.xread('COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', key, `0-${after}`);
      return result !== null;
    } catch {
      return false;
    } finally {
      signal.removeEventListener('abort', leave);
      this.blockers.delete(blocker);
      blocker.disconnect();
    }
  }

  /**
   * The producer's heartbeat lapsed before its end: close the log with one error frame, numbered after the
   * last frame it stored. Every resumer may try; the entry id lets only the first succeed.
   */
  private async declareLost(info: GenerationInfo): Promise<void> {
    const key = keys.frames(info.id);
    const last = await this.redis.xrevrange(key, '+', '-', 'COUNT', 1);
    const seq = last.length === 0 ? 1 : seqOf(last[0]?.[0] as string) + 1;
    let frame = errorFrame(info.format, generationErrors.lost(info.id));
    if (info.format === 'sse') frame = `id: ${info.id}-${seq}\n${frame}`;
    try {
      const batch = this.redis.multi();
      batch.xadd(key, `0-${seq}`, 'f', frame, 't', '1');
      batch.hset(keys.meta(info.id), 'state', 'lost');
      for (const each of [keys.meta(info.id), key]) batch.pexpire(each, this.limits.ttlMs);
      if (info.conversationId !== undefined) batch.del(keys.running(info.conversationId));
      await batch.exec();
    } catch {
      // Another resumer closed it first.
    }
  }
}

function seqOf(entryId: string): number {
  return Number(entryId.slice(entryId.indexOf('-') + 1));
}
