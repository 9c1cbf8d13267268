import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import type { Limiter } from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';

/** In this process's memory, or shared through Redis when REDIS_URL is set. */
export async function createLimiter(
  config: Config,
  logger: FastifyBaseLogger,
  observer?: { redisFailed(): void },
): Promise<Limiter> {
  const { maxStreams, redisUrl, redisFailure } = config.rateLimits;
  if (redisUrl === undefined) return new MemoryLimiter(maxStreams);
  let warned = false;
  // Loaded only with REDIS_URL, so a gateway without Redis never loads ioredis.
  const { RedisLimiter } = await import('./redis-limiter.js');
  const limiter = new RedisLimiter({
    url: redisUrl,
    globalMax: maxStreams,
    onFailure: redisFailure,
    onDegraded: (error) => {
      observer?.redisFailed();
      if (warned) return;
      warned = true;
      logger.warn(
        { err: error, redisFailure },
        redisFailure === 'open'
          ? 'Redis (REDIS_URL) does not answer: serving without shared limits until it does'
          : 'Redis (REDIS_URL) does not answer: refusing requests with 503 until it does',
      );
    },
  });
  await limiter.ready();
  return limiter;
}
