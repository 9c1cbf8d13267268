import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipReason, startRedis, type TestRedis } from '../../test/support/redis-server.js';
import type { Limiter, Subject } from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';
import { RedisLimiter } from './redis-limiter.js';

let redis: TestRedis | undefined;
beforeAll(async () => {
  if (redisSkipReason === undefined) redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
});

let keyCount = 0;
function subject(limits: Partial<NonNullable<Subject['key']>['limits']>, generates = true): Subject {
  keyCount++;
  return {
    generates,
    key: {
      id: `key-${keyCount}-${Date.now()}`,
      name: `k${keyCount}`,
      limits: { rpm: null, streams: null, tokensPerDay: null, ...limits },
    },
  };
}

// One minute and one day into a fixed epoch, so windows never roll over during a test.
const START = Date.UTC(2026, 11, 1, 12, 0, 5);

const implementations: Array<{
  name: string;
  skip: string | undefined;
  make: (globalMax: number, clock: () => number) => Limiter;
}> = [
  { name: 'memory', skip: undefined, make: (globalMax, clock) => new MemoryLimiter(globalMax, clock) },
  {
    name: 'Redis',
    skip: redisSkipReason,
    make: (globalMax, clock) =>
      new RedisLimiter({ url: (redis as TestRedis).url, globalMax, onFailure: 'closed', clock }),
  },
];

for (const implementation of implementations) {
  describe.skipIf(implementation.skip !== undefined)(`${implementation.name} limiter`, () => {
    let now = START;
    const clock = () => now;
    async function withLimiter(globalMax: number, body: (limiter: Limiter) => Promise<void>) {
      const limiter = implementation.make(globalMax, clock);
      if (limiter instanceof RedisLimiter) await limiter.ready();
      try {
        await body(limiter);
      } finally {
        await limiter.close();
      }
    }

    it('counts requests per minute, and says when the next minute starts', async () => {
      now = START;
      await withLimiter(0, async (limiter) => {
        const alice = subject({ rpm: 2 }, false);
        await limiter.admit(alice);
        await limiter.admit(alice);
        await expect(limiter.admit(alice)).rejects.toMatchObject({
          statusCode: 429,
          retryAfterSeconds: 55,
          message: expect.stringMatching(/^key 'k\d+' is over its limit of 2 requests per minute/),
        });
        // Another key has its own budget.
        await limiter.admit(subject({ rpm: 2 }, false));
        now = START + 60_000;
        await limiter.admit(alice);
      });
    });

    it('holds a stream until it ends, then lets the next one in', async () => {
      now = START;
      await withLimiter(0, async (limiter) => {
        const alice = subject({ streams: 1 });
        const first = await limiter.admit(alice);
        await expect(limiter.admit(alice)).rejects.toMatchObject({ statusCode: 429, retryAfterSeconds: 1 });
        // A request that generates nothing does not need a stream.
        await limiter.admit({ ...alice, generates: false });
        first.end(0);
        first.end(0);
        await eventually(() => limiter.admit(alice));
      });
    });

    it('charges completion tokens when a reply ends; one reply may overshoot; a new UTC day starts afresh', async () => {
      now = START;
      await withLimiter(0, async (limiter) => {
        const alice = subject({ tokensPerDay: 100 });
        (await limiter.admit(alice)).end(60);
        const second = await eventually(() => limiter.admit(alice));
        second.end(70);
        await eventually(async () => {
          await expect(limiter.admit(alice)).rejects.toMatchObject({
            statusCode: 429,
            message: expect.stringMatching(/has used its 100 completion tokens for today/),
          });
        });
        now = START + 86_400_000;
        await limiter.admit(alice);
      });
    });

    it('caps the streams of all keys together at CHATWIRE_MAX_STREAMS', async () => {
      now = START;
      await withLimiter(2, async (limiter) => {
        const held = [await limiter.admit(subject({})), await limiter.admit({ generates: true })];
        await expect(limiter.admit(subject({}))).rejects.toMatchObject({
          statusCode: 429,
          message: expect.stringMatching(/CHATWIRE_MAX_STREAMS/),
        });
        for (const admission of held) admission.end(0);
      });
    });
  });
}

describe.skipIf(redisSkipReason !== undefined)('Redis limiter when Redis does not answer', () => {
  it('serves with CHATWIRE_REDIS_FAILURE=open, saying so once; refuses with 503 when closed', async () => {
    const seen: unknown[] = [];
    const open = new RedisLimiter({
      url: 'redis://127.0.0.1:1',
      globalMax: 1,
      onFailure: 'open',
      onDegraded: (e) => seen.push(e),
    });
    const closed = new RedisLimiter({ url: 'redis://127.0.0.1:1', globalMax: 1, onFailure: 'closed' });
    try {
      await open.admit(subject({ streams: 1 }));
      await open.admit(subject({ streams: 1 }));
      expect(seen.length).toBeGreaterThan(0);
      await expect(closed.admit(subject({ streams: 1 }))).rejects.toMatchObject({
        statusCode: 503,
        code: 'limits_unavailable',
      });
    } finally {
      await open.close();
      await closed.close();
    }
  });
});

/** Redis writes after a stream ends are not awaited by the caller; retry a moment until they landed. */
async function eventually<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + 2_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
