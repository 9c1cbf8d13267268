import type { Dispatcher } from 'undici';
import type { Config } from '../config/config.js';
import type { ChatUpstream } from './chat-upstream.js';
import { EmbeddedUpstream } from './embedded/embedded-upstream.js';
import { type PoolLogger, UpstreamPool } from './pool/upstream-pool.js';

/**
 * The configured upstream: the embedded engine, or the pool of model servers (a pool of one when only
 * OLLAMA_HOST or CHATWIRE_UPSTREAM_URL is set).
 */
export function createUpstream(
  config: Config,
  options: { dispatcher?: Dispatcher; logger?: PoolLogger } = {},
): ChatUpstream {
  // node-llama-cpp itself is imported only once this upstream loads its model.
  if (config.upstream.kind === 'embedded') return new EmbeddedUpstream(config.embedded);
  return new UpstreamPool({
    pool: config.pool,
    ejectMs: config.ejectMs,
    connections: config.upstreamConnections,
    connectTimeoutMs: config.timeouts.connectMs,
    lineLimitBytes: config.limits.lineBytes,
    ...options,
  });
}
