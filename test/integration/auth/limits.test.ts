import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type KeysFixture, startWithKeys } from '../../support/keys-fixture.js';
import { until } from '../../support/pool-fixture.js';
import { scrape, sumOf } from '../../support/prometheus-text.js';
import { redisSkipReason, startRedis, type TestRedis } from '../../support/redis-server.js';

let fixture: (KeysFixture & { keys: Record<string, string> }) | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const CHAT = { messages: [{ role: 'user', content: 'hi' }] };

function post(url: string, path: string, key: string | undefined, body: unknown, signal?: AbortSignal) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key !== undefined && bearer(key)) },
    body: JSON.stringify(body),
    ...(signal !== undefined && { signal }),
  });
}

function chatsSeen(fixture: KeysFixture): number {
  return fixture.sim.requests.filter((request) => request.path === '/api/chat').length;
}

describe('per-key limits', () => {
  it('requests per minute: 429 with Retry-After in each route’s envelope, before anything goes upstream', async () => {
    fixture = await startWithKeys([]);
    const key = await fixture.createKey('rpm2', { limits: { rpm: 2 } });
    await until(
      'auth is on',
      async () => (await post(fixture?.chatwire.url ?? '', '/v1/chat', undefined, CHAT)).status === 401,
    );
    const { url } = fixture.chatwire;
    for (let i = 0; i < 2; i++) expect((await post(url, '/v1/chat', key, CHAT)).status).toBe(200);
    const refused = await post(url, '/v1/chat', key, CHAT);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toMatch(
      /^key 'rpm2' is over its limit of 2 requests per minute/,
    );
    const openai = await post(url, '/v1/chat/completions', key, { model: 'qwen2.5:7b', ...CHAT });
    expect(openai.status).toBe(429);
    expect(((await openai.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    expect(chatsSeen(fixture)).toBe(2);
    const { samples } = await scrape(url);
    expect(sumOf(samples, 'chatwire_limit_rejections_total', { key: 'rpm2', kind: 'rpm' })).toBe(2);
    expect(sumOf(samples, 'chatwire_completion_tokens_total', { key: 'rpm2' })).toBeGreaterThan(0);
  });

  it('streams at once: a second stream is refused while the first runs, never cut; the next gets in after it', async () => {
    fixture = await startWithKeys([{ name: 'unused' }]);
    const key = await fixture.createKey('one-stream', { limits: { streams: 1 } });
    const { url } = fixture.chatwire;
    await until('the key is known', async () => (await post(url, '/v1/chat', key, CHAT)).status === 200);
    fixture.sim.behave({ tokens: ['a', 'b'], stallBeforeFirstChunk: true });
    const holder = new AbortController();
    const first = post(url, '/v1/chat', key, CHAT, holder.signal).catch(() => undefined);
    await until('the first stream reached the model', () => fixture?.sim.activeStreams() === 1);
    const second = await post(url, '/v1/chat', key, CHAT);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(((await second.json()) as { error: string }).error).toMatch(
      /already runs its limit of 1 streams at once/,
    );
    holder.abort();
    await first;
    fixture.sim.behave({ tokens: ['ok'] });
    await until(
      'the stream is released',
      async () => (await post(url, '/v1/chat', key, CHAT)).status === 200,
    );
  });

  it('tokens per day: charged when a reply ends from the upstream’s count, then 429 until the next UTC day', async () => {
    fixture = await startWithKeys([{ name: 'unused' }]);
    const key = await fixture.createKey('small', { limits: { tokensPerDay: 10 } });
    const { url } = fixture.chatwire;
    fixture.sim.behave({ tokens: ['a', 'b'], finalMetrics: { eval_count: 8 } });
    await until('the key is known', async () => (await post(url, '/v1/chat', key, CHAT)).status === 200);
    // 8 of 10 used: one more reply may run, and overshoots.
    expect((await post(url, '/v1/chat', key, CHAT)).status).toBe(200);
    const refused = await post(url, '/v1/chat', key, CHAT);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: string }).error).toMatch(
      /has used its 10 completion tokens for today \(UTC\)/,
    );
  });

  it('CHATWIRE_MAX_STREAMS caps streams for everyone, with or without keys', async () => {
    fixture = await startWithKeys([], { CHATWIRE_MAX_STREAMS: '1' });
    const { url } = fixture.chatwire;
    fixture.sim.behave({ tokens: ['a'], stallBeforeFirstChunk: true });
    const holder = new AbortController();
    const first = post(url, '/v1/chat', undefined, CHAT, holder.signal).catch(() => undefined);
    await until('the first stream reached the model', () => fixture?.sim.activeStreams() === 1);
    const refused = await post(url, '/api/chat', undefined, { model: 'qwen2.5:7b', ...CHAT });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: string }).error).toMatch(/CHATWIRE_MAX_STREAMS/);
    holder.abort();
    await first;
  });
});

describe.skipIf(redisSkipReason !== undefined)('limits shared through Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await redis.stop();
  });

  it('a key’s stream limit holds across two gateways on one Redis', async () => {
    fixture = await startWithKeys([{ name: 'unused' }], { REDIS_URL: redis.url });
    const key = await fixture.createKey('shared', { limits: { streams: 1 } });
    const other = await fixture.secondGateway({ REDIS_URL: redis.url });
    try {
      await until(
        'both know the key',
        async () =>
          (await post(fixture?.chatwire.url ?? '', '/v1/chat', key, CHAT)).status === 200 &&
          (await post(other.url, '/v1/chat', key, CHAT)).status === 200,
      );
      fixture.sim.behave({ tokens: ['a'], stallBeforeFirstChunk: true });
      const holder = new AbortController();
      const first = post(fixture.chatwire.url, '/v1/chat', key, CHAT, holder.signal).catch(() => undefined);
      await until('the first stream reached the model', () => fixture?.sim.activeStreams() === 1);
      expect((await post(other.url, '/v1/chat', key, CHAT)).status).toBe(429);
      holder.abort();
      await first;
    } finally {
      await other.close();
    }
  });

  it('serves when Redis is unreachable by default, and refuses with 503 under CHATWIRE_REDIS_FAILURE=closed', async () => {
    fixture = await startWithKeys([{ name: 'unused' }], { REDIS_URL: 'redis://127.0.0.1:1' });
    const key = await fixture.createKey('limited', { limits: { streams: 1 } });
    await until(
      'the key is known',
      async () => (await post(fixture?.chatwire.url ?? '', '/v1/chat', key, CHAT)).status === 200,
    );
    expect(
      fixture.logLines.some((line) => /Redis \(REDIS_URL\) does not answer/.test(String(line.msg))),
    ).toBe(true);
    expect(
      sumOf((await scrape(fixture.chatwire.url)).samples, 'chatwire_redis_failures_total'),
    ).toBeGreaterThan(0);
    const closed = await fixture.secondGateway({
      REDIS_URL: 'redis://127.0.0.1:1',
      CHATWIRE_REDIS_FAILURE: 'closed',
    });
    try {
      const refused = await post(closed.url, '/v1/chat', key, CHAT);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toMatch(/CHATWIRE_REDIS_FAILURE=closed/);
    } finally {
      await closed.close();
    }
  });
});

describe.skipIf(redisSkipReason !== undefined)('the conversation reply lock through Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await redis.stop();
  });

  it('a conversation started on one gateway continues on the other, and its 409 holds across both', async () => {
    fixture = await startWithKeys([{ name: 'alice' }], { REDIS_URL: redis.url });
    const key = fixture.keys.alice as string;
    const other = await fixture.secondGateway({ REDIS_URL: redis.url });
    try {
      const created = await post(fixture.chatwire.url, '/v1/conversations', key, {});
      const { id } = (await created.json()) as { id: string };
      const first = await post(fixture.chatwire.url, `/v1/conversations/${id}/messages`, key, {
        content: 'one',
        stream: false,
      });
      expect(first.status).toBe(200);
      const second = await post(other.url, `/v1/conversations/${id}/messages`, key, {
        content: 'two',
        stream: false,
      });
      expect(second.status).toBe(200);

      fixture.sim.behave({ tokens: ['a'], stallBeforeFirstChunk: true });
      const holder = new AbortController();
      const running = post(
        fixture.chatwire.url,
        `/v1/conversations/${id}/messages`,
        key,
        { content: 'three' },
        holder.signal,
      ).catch(() => undefined);
      await until('the reply is being generated', () => fixture?.sim.activeStreams() === 1);
      const elsewhere = await post(other.url, `/v1/conversations/${id}/messages`, key, { content: 'four' });
      expect(elsewhere.status).toBe(409);
      holder.abort();
      await running;
      const history = (await (
        await fetch(`${other.url}/v1/conversations/${id}`, { headers: bearer(key) })
      ).json()) as {
        messages: Array<{ content: string }>;
      };
      expect(history.messages.map((message) => message.content).slice(0, 4)).toEqual([
        'one',
        'Hello world',
        'two',
        'Hello world',
      ]);
    } finally {
      await other.close();
    }
  });
});
