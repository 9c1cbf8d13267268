import { afterEach, describe, expect, it } from 'vitest';
import { type PoolFixture, startPool, until } from '../../support/pool-fixture.js';
import { postChat } from '../../support/start-gateway.js';
import { parseNdjsonLines } from '../../support/stream-frames.js';

let pool: PoolFixture | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

// Long enough (60 × 80 ms) that the first hundred are still streaming when the host dies.
const TOKENS = Array.from({ length: 60 }, (_, i) => `t${i} `);
const FULL_REPLY = TOKENS.join('');

interface Outcome {
  host: string | null;
  status: number;
  text: string;
  done: boolean;
  error: string | undefined;
}

/** Reads a whole NDJSON stream, calling `onFirst` once its first line is in. */
async function stream(url: string, index: number, onFirst: () => void): Promise<Outcome> {
  const response = await postChat(url, { messages: [{ role: 'user', content: `question ${index}` }] });
  const outcome: Outcome = {
    host: response.headers.get('chatwire-upstream'),
    status: response.status,
    text: '',
    done: false,
    error: undefined,
  };
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let first = true;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffer += decoder.decode(read.value, { stream: true });
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const chunk = JSON.parse(line) as { message?: { content: string }; done?: boolean; error?: string };
      if (chunk.error !== undefined) outcome.error = chunk.error;
      outcome.text += chunk.message?.content ?? '';
      if (chunk.done) outcome.done = true;
    }
    if (first) {
      first = false;
      onFirst();
    }
  }
  return outcome;
}

describe('failover', () => {
  it('a host killed under 200 streams: only its streaming requests see the error, the rest are retried; it is ejected and readmitted', async () => {
    pool = await startPool({ maxStreams: 100, env: { CHATWIRE_MAX_QUEUE: '0' } });
    const { chatwire, sims, nameOf } = pool;
    const victim = sims[1] as (typeof sims)[number];
    for (const sim of sims) sim.behave({ tokens: TOKENS, tokenDelayMs: 80 });
    // The first 100 are streaming when the host dies...
    let streaming = 0;
    let allStreaming: () => void = () => {};
    const firstTokens = new Promise<void>((resolve) => {
      allStreaming = resolve;
    });
    const early = Array.from({ length: 100 }, (_, i) =>
      stream(chatwire.url, i, () => {
        if (++streaming === 100) allStreaming();
      }),
    );
    await firstTokens;
    // ...the other 100 have reached their hosts but have no token yet.
    for (const sim of sims) sim.behave({ tokens: TOKENS, tokenDelayMs: 5, promptEvalDelayMs: 1500 });
    const before = sims.map((sim) => sim.requests.filter((r) => r.path === '/api/chat').length);
    const late = Array.from({ length: 100 }, (_, i) => stream(chatwire.url, 100 + i, () => {}));
    await until(
      'the second hundred reached the hosts',
      () =>
        sims.every(
          (sim, i) => sim.requests.filter((r) => r.path === '/api/chat').length > (before[i] ?? 0),
        ) &&
        sims.reduce(
          (sum, sim, i) => sum + sim.requests.filter((r) => r.path === '/api/chat').length - (before[i] ?? 0),
          0,
        ) === 100,
    );
    const lateOnVictim = victim.requests.filter((r) => r.path === '/api/chat').length - (before[1] ?? 0);
    expect(lateOnVictim).toBeGreaterThan(0);
    await victim.close();

    const earlyOutcomes = await Promise.all(early);
    const lateOutcomes = await Promise.all(late);
    for (const outcome of earlyOutcomes) {
      expect(outcome.status).toBe(200);
      if (outcome.host === nameOf(victim)) {
        // One in-band error line after the tokens that had arrived; never a silent end.
        expect(outcome.done).toBe(false);
        expect(outcome.error).toMatch(/lost mid-stream|closed/);
        expect(FULL_REPLY.startsWith(outcome.text)).toBe(true);
      } else {
        expect(outcome).toMatchObject({ done: true, error: undefined, text: FULL_REPLY });
      }
    }
    expect(earlyOutcomes.some((outcome) => outcome.host === nameOf(victim))).toBe(true);
    for (const outcome of lateOutcomes) {
      expect(outcome).toMatchObject({ status: 200, done: true, error: undefined, text: FULL_REPLY });
      expect(outcome.host).not.toBe(nameOf(victim));
    }

    const victimStatus = async () => (await pool?.upstreams())?.find((host) => host.name === nameOf(victim));
    await until('the dead host is ejected', async () => (await victimStatus())?.state !== 'healthy');
    expect((await victimStatus())?.ejections).toBeGreaterThanOrEqual(1);
    expect((await victimStatus())?.lastError).toMatch(/127\.0\.0\.1/);
    await victim.reopen();
    await until('the host is readmitted', async () => (await victimStatus())?.state === 'healthy');
    for (const sim of sims) sim.behave({ tokens: ['ok'] });
    // Each conversation ranks the hosts its own way; some of the next ones go to the host that came back.
    const hosts = new Set<string | null>();
    for (let i = 0; i < 40 && !hosts.has(nameOf(victim)); i++) {
      const response = await postChat(chatwire.url, { messages: [{ role: 'user', content: `after ${i}` }] });
      expect(response.status).toBe(200);
      hosts.add(response.headers.get('chatwire-upstream'));
      await response.text();
    }
    expect(hosts.has(nameOf(victim))).toBe(true);
  }, 30_000);

  it('skips a host that answers "server busy": the client gets 200 from another, and the busy host stays in', async () => {
    pool = await startPool({ hosts: 2 });
    const { chatwire, sims, nameOf } = pool;
    const busy = sims[0] as (typeof sims)[number];
    busy.behave({
      preError: { status: 503, error: 'server busy, please try again.  maximum pending requests exceeded' },
    });
    const asked = () => busy.requests.filter((request) => request.path === '/api/chat').length;
    // Each conversation ranks the hosts its own way: ask until the busy one has been tried a few times.
    for (let i = 0; i < 60 && asked() < 3; i++) {
      const response = await postChat(chatwire.url, { messages: [{ role: 'user', content: `q${i}` }] });
      expect(response.status).toBe(200);
      expect(response.headers.get('chatwire-upstream')).toBe(nameOf(sims[1] as never));
      await response.text();
    }
    expect(asked()).toBe(3);
    const status = (await pool.upstreams()).find((host) => host.name === nameOf(busy));
    expect(status?.state).toBe('healthy');
  });

  it('retries elsewhere when a host turns out not to have the model its catalogue listed', async () => {
    pool = await startPool({ hosts: 2 });
    const { chatwire, sims, nameOf } = pool;
    const [stale, other] = sims as [(typeof sims)[number], (typeof sims)[number]];
    // The model is warm only on the stale host, so the router sends the first request there: warm hosts
    // win while there are any.
    other.loaded = ['llama3.2'];
    // A model no host lists makes the pool read every catalogue again, so it sees what /api/ps says now.
    expect((await postChat(chatwire.url, { model: 'not-pulled:1b' })).status).toBe(404);
    await until('the catalogues are read', async () => {
      const [first, second] = (await pool?.upstreams()) ?? [];
      return (
        (first?.loadedModels.includes('qwen2.5:7b') ?? false) &&
        second?.models.includes('qwen2.5:7b') === true &&
        !second.loadedModels.includes('qwen2.5:7b')
      );
    });
    // Removed after the gateway read the catalogues (`ollama rm`): the gateway still believes it is there.
    stale.models = ['llama3.2'];
    stale.loaded = ['llama3.2'];
    const asked = () => stale.requests.filter((request) => request.path === '/api/chat').length;
    const first = await postChat(chatwire.url, { messages: [{ role: 'user', content: 'q' }] });
    expect(first.status).toBe(200);
    expect(first.headers.get('chatwire-upstream')).toBe(nameOf(other));
    expect(parseNdjsonLines(await first.text()).at(-1)).toMatchObject({ done: true });
    // Asked once (its 404 retried on the other host), then its catalogue is read again and it is left alone.
    expect(asked()).toBe(1);
    for (let i = 0; i < 6; i++) {
      const response = await postChat(chatwire.url, { messages: [{ role: 'user', content: `after ${i}` }] });
      expect(response.headers.get('chatwire-upstream')).toBe(nameOf(other));
      await response.text();
    }
    expect(asked()).toBe(1);
    expect((await pool.upstreams())[0]?.models).toEqual(['llama3.2:latest']);
  });

  it('does not retry after a token was relayed, nor a failure that is the request itself', async () => {
    pool = await startPool({ hosts: 2 });
    const { chatwire, sims } = pool;
    for (const sim of sims)
      sim.behave({ tokens: ['a', 'b', 'c'], midStream: { afterChunks: 1, mode: 'destroy' } });
    const response = await postChat(chatwire.url, {});
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.trim().split('\n').at(-1)).toMatch(/"error"/);
    const chats = sims.reduce(
      (sum, sim) => sum + sim.requests.filter((r) => r.path === '/api/chat').length,
      0,
    );
    expect(chats).toBe(1);

    for (const sim of sims) sim.behave({ preError: { status: 400, error: 'invalid options' } });
    const refused = await postChat(chatwire.url, {});
    expect(refused.status).toBe(400);
    const after = sims.reduce(
      (sum, sim) => sum + sim.requests.filter((r) => r.path === '/api/chat').length,
      0,
    );
    expect(after).toBe(2);
  });

  it('retries a host that is down on another before the first token, up to CHATWIRE_RETRIES hosts', async () => {
    pool = await startPool({
      hosts: 3,
      env: { CHATWIRE_RETRIES: '1', CHATWIRE_HEALTH_INTERVAL_MS: '60000' },
    });
    const { chatwire, sims } = pool;
    await Promise.all(sims.map((sim) => sim.close()));
    const response = await postChat(chatwire.url, {});
    // Two hosts tried (one retry), both refused: the client sees the true 503.
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toMatch(/^cannot connect to Ollama at/);
    await Promise.all(sims.map((sim) => sim.reopen()));
  });
});
