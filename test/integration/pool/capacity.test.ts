import { afterEach, describe, expect, it } from 'vitest';
import { type PoolFixture, startPool, until } from '../../support/pool-fixture.js';
import { chatBody, postChat } from '../../support/start-gateway.js';

let pool: PoolFixture | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** Two hosts of one stream each, one request allowed to wait, for at most 300 ms. */
async function fullPool() {
  pool = await startPool({
    hosts: 2,
    maxStreams: 1,
    env: { CHATWIRE_MAX_QUEUE: '1', CHATWIRE_QUEUE_TIMEOUT_MS: '300' },
  });
  for (const sim of pool.sims) sim.behave({ tokens: ['a'], stallBeforeFirstChunk: true });
  const holders = [new AbortController(), new AbortController()];
  const held = holders.map((holder, i) =>
    postChat(pool?.chatwire.url ?? '', chatBody({ messages: [{ role: 'user', content: `h${i}` }] }), {
      signal: holder.signal,
    }).catch(() => undefined),
  );
  await until(
    'both hosts are busy',
    async () => (await pool?.upstreams())?.every((host) => host.inFlight === 1) ?? false,
  );
  return { pool, holders, held };
}

describe('capacity', () => {
  it('queues a request when every host is full, then answers 503 with Retry-After when the wait runs out', async () => {
    const { pool, holders } = await fullPool();
    const queued = postChat(pool.chatwire.url);
    await until('one request waits', async () => (await pool.upstreams()).every((host) => host.queued === 1));
    // The line is full: the next is refused at once.
    const refused = await postChat(pool.chatwire.url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: string }).error).toMatch(/already waiting/);
    const timedOut = await queued;
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers.get('retry-after')).toBe('1');
    expect(((await timedOut.json()) as { error: string }).error).toMatch(
      /^every upstream host serving 'qwen2\.5:7b' .* is at its stream limit, and none had room within 300 ms/,
    );
    for (const holder of holders) holder.abort();
  });

  it('gives a waiting request the first stream that frees up', async () => {
    const { pool, holders } = await fullPool();
    for (const sim of pool.sims) sim.behave({ tokens: ['fine'] });
    const queued = postChat(pool.chatwire.url);
    await until('one request waits', async () => (await pool.upstreams()).every((host) => host.queued === 1));
    holders[0]?.abort();
    const response = await queued;
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/"done":true/);
    holders[1]?.abort();
  });

  it('says 429 in OpenAI envelope on /v1/chat/completions', async () => {
    const { pool, holders } = await fullPool();
    const queued = fetch(`${pool.chatwire.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'qwen2.5:7b',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    });
    const response = await queued;
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    for (const holder of holders) holder.abort();
  });
});
