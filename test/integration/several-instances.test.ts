import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from '../../src/storage/open-conversation-store.js';
import { type Child, startChild } from '../support/child-gateway.js';
import { storeBackends, type TestDatabase } from '../support/databases.js';
import { bearer } from '../support/keys-fixture.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { until } from '../support/pool-fixture.js';
import { redisSkipReason, startRedis, type TestRedis } from '../support/redis-server.js';

const postgres = storeBackends.find((backend) => backend.name === 'postgres');
const skip = postgres?.skipReason ?? redisSkipReason;

/** Two `chatwire serve` processes behind one load balancer's worth of clients, on one PostgreSQL and one Redis. */
describe.skipIf(skip !== undefined)(
  `two instances on one PostgreSQL and one Redis${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let database: TestDatabase;
    let storage: Storage;
    let redis: TestRedis;
    let sim: OllamaSimulator;
    let a: Child;
    let b: Child;
    let key: string;
    /** An admin key with no limits: it may write to the team's conversation, so only the lock stops it. */
    let ops: string;

    beforeAll(async () => {
      database = await (postgres as NonNullable<typeof postgres>).createDatabase();
      storage = await openStorage(database.options);
      redis = await startRedis();
      sim = await startOllamaSimulator();
      const env = {
        OLLAMA_HOST: sim.url,
        DATABASE_URL: database.options.databaseUrl as string,
        REDIS_URL: redis.url,
        CHATWIRE_KEYS_REFRESH_MS: '100',
      };
      [a, b] = await Promise.all([startChild(env), startChild(env)]);
    }, 30_000);
    afterAll(async () => {
      a?.process.kill('SIGKILL');
      b?.process.kill('SIGKILL');
      await sim?.close();
      await redis?.stop();
      await storage?.conversations.close();
      await database?.dispose();
    });

    function post(instance: Child, path: string, body: unknown, signal?: AbortSignal, as = key) {
      return fetch(`${instance.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(as) },
        body: JSON.stringify(body),
        ...(signal !== undefined && { signal }),
      });
    }

    it('a key created while both run works on both within seconds', async () => {
      key = (
        await storage.keys.create({
          name: 'team',
          admin: false,
          limits: { rpm: null, streams: 1, tokensPerDay: null },
        })
      ).key;
      ops = (
        await storage.keys.create({
          name: 'ops',
          admin: true,
          limits: { rpm: null, streams: null, tokensPerDay: null },
        })
      ).key;
      for (const instance of [a, b]) {
        // Auth turns on when the instance has read the key: until then it serves everyone.
        await until(
          'the instance has read the key',
          async () => (await fetch(`${instance.url}/v1/models`)).status === 401,
        );
        expect((await fetch(`${instance.url}/v1/models`, { headers: bearer(key) })).status).toBe(200);
      }
    });

    it('a stream limit of 1 holds across both; a conversation started on one continues on the other; its 409 holds across both', async () => {
      const { id } = (await (await post(a, '/v1/conversations', {})).json()) as { id: string };
      expect(
        (await post(a, `/v1/conversations/${id}/messages`, { content: 'one', stream: false })).status,
      ).toBe(200);
      expect(
        (await post(b, `/v1/conversations/${id}/messages`, { content: 'two', stream: false })).status,
      ).toBe(200);

      sim.behave({ tokens: ['a'], stallBeforeFirstChunk: true });
      const holder = new AbortController();
      const running = post(a, `/v1/conversations/${id}/messages`, { content: 'three' }, holder.signal).catch(
        () => undefined,
      );
      await until('the reply is being generated', () => sim.activeStreams() === 1);
      // The key's one stream is taken on A: B refuses it another, and refuses a second turn of the conversation.
      expect((await post(b, '/v1/chat', { messages: [{ role: 'user', content: 'x' }] })).status).toBe(429);
      expect((await post(b, `/v1/conversations/${id}/messages`, { content: 'four' })).status).toBe(429);
      const elsewhere = await post(
        b,
        `/v1/conversations/${id}/messages`,
        { content: 'five' },
        undefined,
        ops,
      );
      expect(elsewhere.status).toBe(409);
      holder.abort();
      await running;
      sim.behave({ tokens: ['done'] });
      await until(
        'the stream is released on both',
        async () =>
          (await post(b, '/v1/chat', { messages: [{ role: 'user', content: 'y' }] })).status === 200,
      );
      const history = (await (
        await fetch(`${b.url}/v1/conversations/${id}`, { headers: bearer(key) })
      ).json()) as {
        messages: Array<{ content: string }>;
      };
      expect(history.messages.slice(0, 4).map((message) => message.content)).toEqual([
        'one',
        'Hello world',
        'two',
        'Hello world',
      ]);
    }, 30_000);
  },
);
