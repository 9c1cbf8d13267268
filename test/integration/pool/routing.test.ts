import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOllamaSimulator } from '../../support/ollama-simulator.js';
import { startOpenAiSimulator } from '../../support/openai-simulator.js';
import { type PoolFixture, startPool, until } from '../../support/pool-fixture.js';
import { postChat, readLines, startGateway } from '../../support/start-gateway.js';

let pool: PoolFixture | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

async function chat(url: string, body: Record<string, unknown>) {
  const response = await postChat(url, body);
  const host = response.headers.get('chatwire-upstream');
  const lines = await readLines(response);
  return { status: response.status, host, lines };
}

describe('routing over several hosts', () => {
  it('sends a model that one host has only to that host, and 404s a model none has', async () => {
    pool = await startPool({ models: [['llama3.2'], ['llama3.2', 'only-here:1b'], ['llama3.2']] });
    const { chatwire, sims, nameOf } = pool;
    for (let i = 0; i < 8; i++) {
      const answer = await chat(chatwire.url, {
        model: 'only-here:1b',
        messages: [{ role: 'user', content: `q${i}` }],
      });
      expect(answer.status).toBe(200);
      expect(answer.host).toBe(nameOf(sims[1] as never));
    }
    const missing = await postChat(chatwire.url, { model: 'nowhere:7b' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toMatch(
      /^model 'nowhere:7b' not found on any upstream host .*ollama pull nowhere:7b/,
    );
  });

  it('keeps a conversation on one host, which reuses its cached prefix each turn', async () => {
    pool = await startPool();
    const { chatwire, sims, nameOf } = pool;
    const hostsSeen = new Set<string>();
    for (let c = 0; c < 10; c++) {
      const created = await fetch(`${chatwire.url}/v1/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const { id } = (await created.json()) as { id: string };
      const hosts: Array<string | null> = [];
      for (let turn = 0; turn < 4; turn++) {
        // Long turns, so the conversation spans several prefix blocks.
        const content = `conversation ${c} turn ${turn}: ${'tell me more about it. '.repeat(20)}`;
        const response = await fetch(`${chatwire.url}/v1/conversations/${id}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ content }),
        });
        expect(response.status).toBe(200);
        hosts.push(response.headers.get('chatwire-upstream'));
        await response.text();
      }
      expect(new Set(hosts).size, `conversation ${c} went to ${hosts.join(', ')}`).toBe(1);
      hostsSeen.add(hosts[0] as string);
    }
    // Different conversations do not all land on one host.
    expect(hostsSeen.size).toBeGreaterThan(1);
    // Every follow-up found its earlier turns in a slot of the host it went to.
    for (const sim of sims) {
      const followUps = sim.reusedPrefixChars.filter((_, index) => index % 4 !== 0);
      expect(
        followUps.every((chars) => chars > 400),
        `${nameOf(sim)}: ${sim.reusedPrefixChars.join(',')}`,
      ).toBe(true);
    }
  });

  it('spreads requests evenly when nothing tells the hosts apart', async () => {
    pool = await startPool({ maxStreams: 20 });
    const { chatwire, sims } = pool;
    for (const sim of sims) sim.behave({ tokens: ['a', 'b', 'c'], tokenDelayMs: 300 });
    const requests = Array.from({ length: 30 }, (_, i) =>
      postChat(chatwire.url, { messages: [{ role: 'user', content: `unrelated question ${i}` }] }),
    );
    const responses = await Promise.all(requests);
    const perHost = new Map<string, number>();
    for (const response of responses) {
      const host = response.headers.get('chatwire-upstream') as string;
      perHost.set(host, (perHost.get(host) ?? 0) + 1);
      await response.text();
    }
    expect([...perHost.values()].sort()).toEqual([10, 10, 10]);
    expect(sims.map((sim) => sim.requests.filter((r) => r.path === '/api/chat').length)).toEqual([
      10, 10, 10,
    ]);
  });

  it('prefers the host where the model is loaded over hosts that would have to load it', async () => {
    pool = await startPool({ env: { CHATWIRE_CATALOG_REFRESH_MS: '100' } });
    const { chatwire, sims, nameOf } = pool;
    for (const sim of sims) sim.loaded = [];
    (sims[2] as (typeof sims)[number]).loaded = ['llama3.2:latest'];
    // Until a refresh after the change: the one at start saw every model loaded everywhere.
    await until('the catalogues say llama3.2 is loaded on the third host only', async () => {
      const loaded = (await pool?.upstreams())?.map((host) => host.loadedModels.join(','));
      return loaded?.join('|') === '||llama3.2:latest';
    });
    for (let i = 0; i < 5; i++) {
      const answer = await chat(chatwire.url, {
        model: 'llama3.2',
        messages: [{ role: 'user', content: `new ${i}` }],
      });
      expect(answer.host).toBe(nameOf(sims[2] as never));
    }
  });

  it('routes over hosts of both kinds from the config file, each spoken to in its own protocol', async () => {
    const ollama = await startOllamaSimulator({ models: ['llama3.2'] });
    const openai = await startOpenAiSimulator({ models: ['served-by-vllm'] });
    const file = join(mkdtempSync(join(tmpdir(), 'chatwire-mixed-')), 'chatwire.json');
    writeFileSync(
      file,
      JSON.stringify({
        upstreams: [
          { name: 'ollama-box', url: ollama.url },
          { name: 'vllm-box', kind: 'openai', url: `${openai.url}/v1`, apiKey: 'vllm-key' },
        ],
      }),
    );
    const chatwire = await startGateway(ollama.url, {
      CHATWIRE_CONFIG_FILE: file,
      CHATWIRE_ALLOWED_MODELS: '*',
    });
    try {
      const viaOpenAi = await chat(chatwire.url, { model: 'served-by-vllm' });
      expect(viaOpenAi).toMatchObject({ status: 200, host: 'vllm-box' });
      expect(viaOpenAi.lines.at(-1)).toMatchObject({ done: true });
      expect(openai.requests.find((r) => r.path === '/v1/chat/completions')?.headers.authorization).toBe(
        'Bearer vllm-key',
      );
      const viaOllama = await chat(chatwire.url, { model: 'llama3.2' });
      expect(viaOllama).toMatchObject({ status: 200, host: 'ollama-box' });
      expect(ollama.requests.some((r) => r.path === '/api/chat')).toBe(true);
    } finally {
      await chatwire.close();
      await Promise.all([ollama.close(), openai.close()]);
    }
  });

  it('names the host on every chat response and in the request log, with the wait and the cached prefix', async () => {
    pool = await startPool({ hosts: 2 });
    const { chatwire, logLines, sims, nameOf } = pool;
    const long = { messages: [{ role: 'user', content: 'a long question. '.repeat(100) }] };
    const first = await chat(chatwire.url, long);
    const again = await chat(chatwire.url, {
      messages: [
        ...long.messages,
        { role: 'assistant', content: 'Hello world' },
        { role: 'user', content: 'more' },
      ],
    });
    expect(again.host).toBe(first.host);
    expect(sims.map(nameOf)).toContain(first.host);
    const requests = logLines.filter((line) => line.msg === 'request' && line.url === '/v1/chat');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ upstream: first.host, queuedMs: expect.any(Number) });
    expect(requests[0]?.cachedPrefixTokens).toBe(0);
    // The whole first request, and its reply, in 64-token blocks.
    expect(requests[1]?.cachedPrefixTokens).toBeGreaterThanOrEqual(384);
    // Never the content itself.
    expect(JSON.stringify(logLines)).not.toContain('a long question');
  });

  it('with OLLAMA_HOST alone, names the one host and relays as before', async () => {
    const sim = await startOllamaSimulator();
    const chatwire = await startGateway(sim.url);
    try {
      const answer = await chat(chatwire.url, {});
      expect(answer).toMatchObject({ status: 200, host: `127.0.0.1:${sim.port}` });
      const hosts = (await (await fetch(`${chatwire.url}/v1/upstreams`)).json()) as Array<
        Record<string, unknown>
      >;
      expect(hosts).toEqual([
        expect.objectContaining({
          name: `127.0.0.1:${sim.port}`,
          state: 'healthy',
          maxStreams: null,
          models: [],
        }),
      ]);
      // No catalogue reads or probes of its own: the host is asked only what a client asks.
      expect(sim.requests.map((request) => request.path)).toEqual(['/api/chat']);
    } finally {
      await chatwire.close();
      await sim.close();
    }
  });

  it('lists the union of the hosts models, and asks /api/show of a host that has the model', async () => {
    pool = await startPool({ models: [['llama3.2'], ['qwen2.5:7b', 'llama3.2'], ['phi4:14b']] });
    const { chatwire, sims } = pool;
    const tags = (await (await fetch(`${chatwire.url}/api/tags`)).json()) as {
      models: Array<{ name: string }>;
    };
    expect(tags.models.map((model) => model.name).sort()).toEqual([
      'llama3.2:latest',
      'phi4:14b',
      'qwen2.5:7b',
    ]);
    const models = (await (await fetch(`${chatwire.url}/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    expect(models.data.map((model) => model.id).sort()).toEqual([
      'llama3.2:latest',
      'phi4:14b',
      'qwen2.5:7b',
    ]);
    const ps = (await (await fetch(`${chatwire.url}/api/ps`)).json()) as { models: unknown[] };
    expect(ps.models).toHaveLength(4);
    const show = await fetch(`${chatwire.url}/api/show`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'phi4:14b' }),
    });
    expect(show.status).toBe(200);
    expect(sims[2]?.requests.some((request) => request.path === '/api/show')).toBe(true);
  });

  it('describes every host at /v1/upstreams and is ready while one answers', async () => {
    pool = await startPool({ hosts: 2 });
    const { chatwire, sims, nameOf } = pool;
    const hosts = await pool.upstreams();
    expect(hosts.map((host) => host.name)).toEqual(sims.map(nameOf));
    expect(hosts[0]).toMatchObject({
      kind: 'ollama',
      url: sims[0]?.url,
      state: 'healthy',
      inFlight: 0,
      maxStreams: 4,
      queued: 0,
      ejections: 0,
      lastError: null,
    });
    const ready = (await (await fetch(`${chatwire.url}/ready`)).json()) as { upstreams: string[] };
    expect(ready.upstreams.sort()).toEqual(sims.map(nameOf).sort());
    await Promise.all(sims.map((sim) => sim.close()));
    const notReady = await fetch(`${chatwire.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { error: string }).error).toMatch(/^no upstream host answers/);
    // close() in afterEach closes the simulators again: reopen them so that is harmless.
    await Promise.all(sims.map((sim) => sim.reopen()));
  });
});
