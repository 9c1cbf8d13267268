import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { GatewayError } from '../contracts/gateway-error.js';
import {
  type Admission,
  type Limiter,
  minuteOf,
  NO_ADMISSION,
  type Refusal,
  refusalError,
  type Subject,
  utcDay,
} from './limiter.js';

/**
 * A running stream holds a lease in a sorted set (scored by its expiry) for as long as it runs, renewed by
 * the instance that runs it; an instance that dies stops renewing, so its streams stop counting within
 * LEASE_MS instead of holding a key's limit forever.
 */
const LEASE_MS = 30_000;
const RENEW_MS = 10_000;
const PREFIX = 'chatwire:';

/**
 * Checks every limit and only then takes the request in, in one atomic step: no read-then-write race
 * between instances. KEYS: minute counter, key's stream leases, global stream leases, today's tokens.
 * ARGV: now, rpm, streams, global, tokens per day (0 = none), generates (0/1), lease id, lease expiry.
 */
const ADMIT = `
local now = tonumber(ARGV[1])
local rpm, streams, global, tokens = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local generates = ARGV[6] == '1'
if rpm > 0 and (tonumber(redis.call('GET', KEYS[1])) or 0) >= rpm then return 'rpm' end
if generates then
  if tokens > 0 and (tonumber(redis.call('GET', KEYS[4])) or 0) >= tokens then return 'tokens' end
  if streams > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    if redis.call('ZCARD', KEYS[2]) >= streams then return 'streams' end
  end
  if global > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    if redis.call('ZCARD', KEYS[3]) >= global then return 'global' end
  end
end
if rpm > 0 then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], 120000)
end
if generates then
  if streams > 0 then redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7]); redis.call('PEXPIRE', KEYS[2], 120000) end
  if global > 0 then redis.call('ZADD', KEYS[3], ARGV[8], ARGV[7]); redis.call('PEXPIRE', KEYS[3], 120000) end
end
return 'ok'
`;

interface Lease {
  id: string;
  keys: string[];
}

export interface RedisLimiterOptions {
  url: string;
  globalMax: number;
  /** `open`: serve when Redis cannot be reached (warned once); `closed`: refuse with 503. */
  onFailure: 'open' | 'closed';
  onDegraded?: (error: unknown) => void;
  clock?: () => number;
}

/** The limits shared by every instance through one Redis (REDIS_URL). */
export class RedisLimiter implements Limiter {
  private readonly redis: Redis;
  private readonly leases = new Set<Lease>();
  private readonly renewer: NodeJS.Timeout;
  private readonly clock: () => number;

  constructor(private readonly options: RedisLimiterOptions) {
    this.clock = options.clock ?? Date.now;
    this.redis = new Redis(options.url, {
      // A request waits for its limits at most this long; it never queues behind a dead connection.
      connectTimeout: 2_000,
      commandTimeout: 2_000,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
    });
    // Failures reach the commands; unheard, the client's own 'error' events would end the process.
    this.redis.on('error', () => {});
    this.redis.defineCommand('chatwireAdmit', { numberOfKeys: 4, lua: ADMIT });
    this.renewer = setInterval(() => void this.renew(), RENEW_MS);
    this.renewer.unref();
  }

  /** Waits for the first connection (at most the connect timeout); a Redis that is down is not an error here. */
  async ready(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, 2_000);
      this.redis.once('ready', done);
    });
  }

  async admit(subject: Subject): Promise<Admission> {
    const now = this.clock();
    const { key } = subject;
    const limits = key?.limits;
    const streamsKey = `${PREFIX}streams:${key?.id ?? '-'}`;
    const globalKey = `${PREFIX}streams:_global`;
    const tokensKey = `${PREFIX}tokens:${key?.id ?? '-'}:${utcDay(now)}`;
    const rpm = limits?.rpm ?? 0;
    const streams = limits?.streams ?? 0;
    const tokens = limits?.tokensPerDay ?? 0;
    const global = this.options.globalMax;
    if (rpm === 0 && (!subject.generates || (streams === 0 && tokens === 0 && global === 0)))
      return NO_ADMISSION;
    const lease: Lease = {
      id: randomUUID(),
      keys: [...(streams > 0 ? [streamsKey] : []), ...(global > 0 ? [globalKey] : [])],
    };
    let answer: string;
    try {
      answer = await (this.redis as unknown as RedisWithAdmit).chatwireAdmit(
        `${PREFIX}rpm:${key?.id ?? '-'}:${minuteOf(now)}`,
        streamsKey,
        globalKey,
        tokensKey,
        now,
        rpm,
        streams,
        global,
        tokens,
        subject.generates ? '1' : '0',
        lease.id,
        now + LEASE_MS,
      );
    } catch (error) {
      this.options.onDegraded?.(error);
      if (this.options.onFailure === 'open') return NO_ADMISSION;
      throw new GatewayError(
        'limits_unavailable',
        503,
        'the limits cannot be checked: Redis (REDIS_URL) does not answer, and CHATWIRE_REDIS_FAILURE=closed',
        { cause: error, retryAfterSeconds: 1 },
      );
    }
    if (answer !== 'ok') throw refusalError(answer as Refusal, subject, global, now);
    if (!subject.generates) return NO_ADMISSION;
    if (lease.keys.length > 0) this.leases.add(lease);
    let ended = false;
    return {
      end: (completionTokens) => {
        if (ended) return;
        ended = true;
        this.leases.delete(lease);
        const batch = this.redis.multi();
        for (const set of lease.keys) batch.zrem(set, lease.id);
        if (tokens > 0 && completionTokens > 0) {
          const spentKey = `${PREFIX}tokens:${key?.id ?? '-'}:${utcDay(this.clock())}`;
          batch.incrby(spentKey, completionTokens);
          batch.pexpire(spentKey, 2 * 86_400_000);
        }
        batch.exec().catch((error: unknown) => this.options.onDegraded?.(error));
      },
    };
  }

  /** Renews the leases of the streams this instance runs, in one round trip. */
  private async renew(): Promise<void> {
    if (this.leases.size === 0) return;
    const expiry = this.clock() + LEASE_MS;
    const batch = this.redis.pipeline();
    for (const lease of this.leases) for (const set of lease.keys) batch.zadd(set, 'XX', expiry, lease.id);
    await batch.exec().catch((error: unknown) => this.options.onDegraded?.(error));
  }

  async close(): Promise<void> {
    clearInterval(this.renewer);
    this.redis.disconnect();
  }
}

interface RedisWithAdmit {
  chatwireAdmit(...args: Array<string | number>): Promise<string>;
}
