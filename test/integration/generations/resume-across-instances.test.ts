import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Child, startChild } from '../../support/child-gateway.js';
import { storeBackends, type TestDatabase } from '../../support/databases.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { completeFrames, readThenDrop } from '../../support/partial-read.js';
import { until } from '../../support/pool-fixture.js';
import { redisSkipReason, startRedis, type TestRedis } from '../../support/redis-server.js';
import { chatBody } from '../../support/start-gateway.js';

const postgres = storeBackends.find((backend) => backend.name === 'postgres');
const skip = postgres?.skipReason ?? redisSkipReason;

const TOKENS = Array.from({ length: 40 }, (_, index) => `w${index} `);

/** Two `chatwire serve` processes on one Redis and one PostgreSQL: a reply started on one resumes on the other. */
describe.skipIf(skip !== undefined)(
  `resuming on another instance${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let database: TestDatabase;
    let redis: TestRedis;
    let client: Redis;
    let sim: OllamaSimulator;
    let env: Record<string, string>;
    let a: Child;
    let b: Child;

    beforeAll(async () => {
      database = await (postgres as NonNullable<typeof postgres>).createDatabase();
      redis = await startRedis();
      client = new Redis(redis.url);
      sim = await startOllamaSimulator();
      env = {
        OLLAMA_HOST: sim.url,
        DATABASE_URL: database.options.databaseUrl as string,
        REDIS_URL: redis.url,
      };
      [a, b] = await Promise.all([startChild(env), startChild(env)]);
    }, 30_000);
    afterAll(async () => {
      a?.process.kill('SIGKILL');
      b?.process.kill('SIGKILL');
      client?.disconnect();
      await sim?.close();
      await redis?.stop();
      await database?.dispose();
    });
    beforeEach(() => sim.reset());

    function post(instance: Child, path: string, body: string, controller: AbortController) {
      return fetch(`${instance.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'detach' },
        body,
        signal: controller.signal,
      });
    }

    it('a reply dropped on A resumes on B, live, with every frame once; after the end B replays it all', async () => {
      sim.behave({ tokens: TOKENS, tokenDelayMs: 10 });
      const controller = new AbortController();
      const response = await post(a, '/v1/chat', chatBody(), controller);
      const id = response.headers.get('chatwire-generation-id') as string;
      const received = completeFrames((await readThenDrop(response, controller, 600)).text, '\n');
      expect(received.length).toBeGreaterThan(0);
      const resumed = await fetch(`${b.url}/v1/generations/${id}/stream?after=${received.length}`);
      expect(resumed.status).toBe(200);
      const rest = completeFrames(await resumed.text(), '\n');
      const frames = [...received, ...rest];
      const contents = frames.map(
        (line) => (JSON.parse(line) as { message: { content: string } }).message.content,
      );
      expect(contents.join('')).toBe(TOKENS.join(''));
      expect((JSON.parse(frames.at(-1) as string) as { done: boolean }).done).toBe(true);
      expect(await (await fetch(`${b.url}/v1/generations/${id}/stream?after=0`)).text()).toBe(
        frames.join(''),
      );
      expect((await fetch(`${b.url}/v1/generations/${id}/stream?after=${frames.length}`)).status).toBe(204);
    });

    it("a conversation's running reply is found from B, and B's stop ends it on A", async () => {
      sim.behave({ tokens: Array.from({ length: 1000 }, () => 'x'), tokenDelayMs: 5 });
      const created = await fetch(`${a.url}/v1/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const { id: conversation } = (await created.json()) as { id: string };
      const controller = new AbortController();
      const response = await post(
        a,
        `/v1/conversations/${conversation}/messages`,
        '{"content":"go"}',
        controller,
      );
      const id = response.headers.get('chatwire-generation-id') as string;
      await readThenDrop(response, controller, 1);
      const watching = await fetch(`${b.url}/v1/conversations/${conversation}/stream`);
      expect(watching.status).toBe(200);
      expect(watching.headers.get('chatwire-generation-id')).toBe(id);
      const stop = await fetch(`${b.url}/v1/generations/${id}/stop`, { method: 'POST' });
      expect(stop.status).toBe(200);
      await sim.nextAbort();
      const frames = completeFrames(await watching.text(), '\n');
      expect(frames.at(-1)).toBe(
        `{"error":"generation ${id} was stopped (POST /v1/generations/${id}/stop)"}\n`,
      );
      await until(
        'nothing runs in the conversation any more',
        async () => (await fetch(`${b.url}/v1/conversations/${conversation}/stream`)).status === 204,
      );
    });

    it('kill -9 of the producing instance: a resume on B gets every frame A stored, then one error frame saying it was lost', async () => {
      sim.behave({ tokens: Array.from({ length: 1000 }, (_, index) => `k${index} `), tokenDelayMs: 10 });
      const victim = await startChild(env);
      try {
        const controller = new AbortController();
        const response = await post(victim, '/v1/chat', chatBody(), controller);
        const id = response.headers.get('chatwire-generation-id') as string;
        const received = completeFrames((await readThenDrop(response, controller, 2000)).text, '\n');
        // "Produced" is what reached Redis: the copy trails the live client by one round trip at most.
        await until(
          'Redis has what the client received',
          async () => (await client.xlen(`chatwire:generation:${id}:frames`)) >= received.length,
        );
        victim.process.kill('SIGKILL');
        await new Promise((resolve) => victim.process.once('exit', resolve));
        const stored = await client.xlen(`chatwire:generation:${id}:frames`);
        const startedAt = performance.now();
        const resumed = await fetch(`${b.url}/v1/generations/${id}/stream?after=0`);
        expect(resumed.status).toBe(200);
        const frames = completeFrames(await resumed.text(), '\n');
        expect(performance.now() - startedAt).toBeLessThan(10_000);
        expect(frames.slice(0, received.length)).toEqual(received);
        expect(frames).toHaveLength(stored + 1);
        expect(frames.at(-1)).toBe(
          `{"error":"generation ${id} was lost: the instance producing it stopped answering; the frames before this one are all it produced"}\n`,
        );
        expect(
          frames.slice(0, -1).every((line) => (JSON.parse(line) as { done: boolean }).done === false),
        ).toBe(true);
        // A second resume replays the same end at once.
        expect(await (await fetch(`${a.url}/v1/generations/${id}/stream?after=0`)).text()).toBe(
          frames.join(''),
        );
      } finally {
        victim.process.kill('SIGKILL');
      }
    }, 30_000);
  },
);
