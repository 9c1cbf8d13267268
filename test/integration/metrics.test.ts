import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { type PoolFixture, startPool, until } from '../support/pool-fixture.js';
import { type Sample, samplesOf, scrape, sumOf } from '../support/prometheus-text.js';
import {
  chatBody,
  closedPort,
  postChat,
  type RunningGateway,
  readLines,
  startGateway,
} from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway | undefined;
let pool: PoolFixture | undefined;

beforeAll(async () => {
  sim = await startOllamaSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await chatwire?.close();
  chatwire = undefined;
  await pool?.close();
  pool = undefined;
  sim.reset();
});

/** Scrapes until `condition` holds of the samples (a request is recorded once its connection is done). */
async function scrapeUntil(url: string, what: string, condition: (samples: Sample[]) => boolean) {
  let samples: Sample[] = [];
  await until(what, async () => {
    samples = (await scrape(url)).samples;
    return condition(samples);
  });
  return samples;
}

const requests = (samples: Sample[], labels: Record<string, string>) =>
  sumOf(samples, 'chatwire_requests_total', labels);

describe('GET /metrics', () => {
  it("answers in Prometheus' text format, without credentials, with the process metrics", async () => {
    chatwire = await startGateway(sim.url);
    const { contentType, samples } = await scrape(chatwire.url);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(samplesOf(samples, 'chatwire_active_streams')).toHaveLength(1);
    expect(samples.some((sample) => sample.name === 'process_resident_memory_bytes')).toBe(true);
    expect(samples.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts streamed, collected and OpenAI requests by route, with timings and tokens by model and host', async () => {
    chatwire = await startGateway(sim.url);
    const host = new URL(sim.url).host;
    sim.behave({ tokens: ['a', 'b', 'c'], finalMetrics: { eval_count: 3, prompt_eval_count: 11 } });
    await readLines(await postChat(chatwire.url));
    await (await postChat(chatwire.url, { stream: false })).json();
    const openAi = await fetch(`${chatwire.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'qwen2.5:7b',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(openAi.status).toBe(200);
    await openAi.text();
    await (await fetch(`${chatwire.url}/v1/no-such-route`)).text();

    const samples = await scrapeUntil(
      chatwire.url,
      'the four requests are recorded',
      (all) => requests(all, {}) - requests(all, { route: '/metrics' }) >= 4,
    );
    expect(requests(samples, { route: '/v1/chat', method: 'POST', status: '200' })).toBe(2);
    expect(requests(samples, { route: '/v1/chat/completions', method: 'POST', status: '200' })).toBe(1);
    expect(requests(samples, { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);

    const chat = { route: '/v1/chat', model: 'qwen2.5:7b', upstream: host };
    expect(sumOf(samples, 'chatwire_request_duration_seconds_count', chat)).toBe(2);
    expect(sumOf(samples, 'chatwire_time_to_first_token_seconds_count', chat)).toBe(2);
    expect(sumOf(samples, 'chatwire_time_to_first_token_seconds_bucket', { ...chat, le: '+Inf' })).toBe(2);
    expect(
      sumOf(samples, 'chatwire_time_to_first_token_seconds_count', {
        route: '/v1/chat/completions',
        model: 'qwen2.5:7b',
        upstream: host,
      }),
    ).toBe(1);
    expect(sumOf(samples, 'chatwire_gateway_overhead_seconds_count', { route: '/v1/chat' })).toBe(2);
    const overhead = sumOf(samples, 'chatwire_gateway_overhead_seconds_sum', { route: '/v1/chat' });
    const firstToken = sumOf(samples, 'chatwire_time_to_first_token_seconds_sum', chat);
    expect(overhead).toBeGreaterThan(0);
    expect(overhead).toBeLessThan(firstToken);
    expect(sumOf(samples, 'chatwire_completion_tokens_total', { model: 'qwen2.5:7b' })).toBe(9);
    expect(sumOf(samples, 'chatwire_prompt_tokens_total', { model: 'qwen2.5:7b' })).toBe(33);
    // An unmatched route has no model or host, and never a first token.
    expect(
      sumOf(samples, 'chatwire_request_duration_seconds_count', {
        route: 'unmatched',
        model: '',
        upstream: '',
      }),
    ).toBe(1);
    expect(samplesOf(samples, 'chatwire_time_to_first_token_seconds_count', { route: 'unmatched' })).toEqual(
      [],
    );
    expect(sumOf(samples, 'chatwire_active_streams')).toBe(0);
    expect(sumOf(samples, 'chatwire_upstream_state', { upstream: host, state: 'healthy' })).toBe(1);
    expect(sumOf(samples, 'chatwire_upstream_errors_total')).toBe(0);
  });

  it('a client that left mid-stream is a 499 with its first token but no tokens; the stream gauge follows it', async () => {
    chatwire = await startGateway(sim.url);
    const { url } = chatwire;
    sim.behave({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 20 });
    const controller = new AbortController();
    const response = await postChat(url, undefined, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const streaming = await scrape(url);
    expect(sumOf(streaming.samples, 'chatwire_active_streams')).toBe(1);
    controller.abort();
    await reader.read().catch(() => undefined);

    const samples = await scrapeUntil(
      url,
      'the abandoned stream is recorded',
      (all) => requests(all, { status: '499' }) === 1 && sumOf(all, 'chatwire_active_streams') === 0,
    );
    expect(requests(samples, { route: '/v1/chat', method: 'POST', status: '499' })).toBe(1);
    expect(sumOf(samples, 'chatwire_time_to_first_token_seconds_count', { route: '/v1/chat' })).toBe(1);
    expect(sumOf(samples, 'chatwire_request_duration_seconds_count', { route: '/v1/chat' })).toBe(1);
    expect(samplesOf(samples, 'chatwire_completion_tokens_total')).toEqual([]);
    // The client leaving is no fault of the host.
    expect(sumOf(samples, 'chatwire_upstream_errors_total')).toBe(0);
  });

  it('a host that refuses the connection: 503, one upstream_unreachable for it, and no first token', async () => {
    const port = await closedPort();
    chatwire = await startGateway(`127.0.0.1:${port}`);
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(503);
    await response.text();
    const samples = await scrapeUntil(
      chatwire.url,
      'the failed request is recorded',
      (all) => requests(all, { route: '/v1/chat' }) === 1,
    );
    const host = `127.0.0.1:${port}`;
    expect(requests(samples, { route: '/v1/chat', method: 'POST', status: '503' })).toBe(1);
    expect(
      sumOf(samples, 'chatwire_upstream_errors_total', { upstream: host, kind: 'upstream_unreachable' }),
    ).toBe(1);
    expect(sumOf(samples, 'chatwire_upstream_errors_total')).toBe(1);
    expect(
      sumOf(samples, 'chatwire_request_duration_seconds_count', {
        route: '/v1/chat',
        model: 'qwen2.5:7b',
        upstream: host,
      }),
    ).toBe(1);
    expect(samplesOf(samples, 'chatwire_time_to_first_token_seconds_count')).toEqual([]);
    expect(samplesOf(samples, 'chatwire_gateway_overhead_seconds_count')).toEqual([]);
  });

  it('a first-token timeout counts for the host that was too slow', async () => {
    chatwire = await startGateway(sim.url, { CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: '100' });
    sim.behave({ stallBeforeFirstChunk: true });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(504);
    await response.text();
    const samples = await scrapeUntil(
      chatwire.url,
      'the timeout is recorded',
      (all) => requests(all, { route: '/v1/chat' }) === 1,
    );
    expect(
      sumOf(samples, 'chatwire_upstream_errors_total', {
        upstream: new URL(sim.url).host,
        kind: 'first_token_timeout',
      }),
    ).toBe(1);
  });

  it('label values never carry message content, a made-up model or a path', async () => {
    const marker = `marker-${randomUUID()}`;
    const madeUp = `made-up-model-${randomUUID()}`;
    chatwire = await startGateway(sim.url, { CHATWIRE_ALLOWED_MODELS: '*' });
    const content = { messages: [{ role: 'user', content: marker }] };
    await readLines(await postChat(chatwire.url, content));
    // The simulator knows no such model: a 404 from the upstream, relayed.
    const unknown = await postChat(chatwire.url, chatBody({ ...content, model: madeUp }));
    expect(unknown.status).toBe(404);
    await unknown.text();
    const openAi = await fetch(`${chatwire.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': marker },
      body: JSON.stringify({ model: madeUp, stream: false, ...content }),
    });
    await openAi.text();
    await (await fetch(`${chatwire.url}/v1/${marker}`)).text();

    let text = '';
    await until('the four requests are recorded', async () => {
      const scraped = await scrape(chatwire?.url ?? '');
      text = scraped.text;
      return requests(scraped.samples, {}) - requests(scraped.samples, { route: '/metrics' }) >= 4;
    });
    expect(text).not.toContain(marker);
    expect(text).not.toContain(madeUp);
    expect(text).toContain('model="other"');
    expect(text).toContain('route="unmatched"');
  });
});

describe('GET /metrics with several hosts', () => {
  it('shows each host state, its streams and limit, and the errors of a host that was closed', async () => {
    // Health checks out of the way: the chat requests themselves find the closed host and eject it.
    pool = await startPool({
      hosts: 3,
      maxStreams: 4,
      env: { CHATWIRE_HEALTH_INTERVAL_MS: '60000', CHATWIRE_EJECT_AFTER: '1', CHATWIRE_RETRIES: '2' },
    });
    const { chatwire: gateway, sims, nameOf } = pool;
    const victim = sims[1] as OllamaSimulator;
    const names = sims.map(nameOf);
    await until(
      'every catalogue is read',
      async () => (await pool?.upstreams())?.every((host) => host.models.length > 0) ?? false,
    );

    const before = (await scrape(gateway.url)).samples;
    for (const name of names) {
      expect(sumOf(before, 'chatwire_upstream_state', { upstream: name, state: 'healthy' })).toBe(1);
      expect(sumOf(before, 'chatwire_upstream_state', { upstream: name, state: 'ejected' })).toBe(0);
      expect(sumOf(before, 'chatwire_upstream_in_flight_streams', { upstream: name })).toBe(0);
      expect(sumOf(before, 'chatwire_upstream_max_streams', { upstream: name })).toBe(4);
    }
    expect(sumOf(before, 'chatwire_queued_requests')).toBe(0);

    // One stream held open on each host shows in its in-flight gauge.
    for (const sim of sims) sim.behave({ tokens: ['a', 'b'], tokenDelayMs: 5_000 });
    const held = names.map((_, i) => {
      const controller = new AbortController();
      const body = chatBody({ messages: [{ role: 'user', content: `held ${i}` }] });
      const response = postChat(gateway.url, body, { signal: controller.signal }).catch(() => undefined);
      return { controller, response };
    });
    const busy = await scrapeUntil(
      gateway.url,
      'three streams are in flight',
      (all) => sumOf(all, 'chatwire_upstream_in_flight_streams') === 3,
    );
    expect(sumOf(busy, 'chatwire_active_streams')).toBe(3);
    for (const stream of held) stream.controller.abort();
    await Promise.all(held.map((stream) => stream.response));
    for (const sim of sims) sim.behave({});
    await scrapeUntil(
      gateway.url,
      'the held streams are released',
      (all) => sumOf(all, 'chatwire_upstream_in_flight_streams') === 0,
    );

    await victim.close();
    let sent = 0;
    await until('a request met the closed host', async () => {
      const response = await postChat(
        gateway.url,
        chatBody({ messages: [{ role: 'user', content: `after the close ${sent++}` }] }),
      );
      expect(response.status).toBe(200);
      await readLines(response);
      return (await pool?.upstreams())?.some((host) => host.state === 'ejected') ?? false;
    });

    const after = await scrapeUntil(
      gateway.url,
      'the retried request is recorded',
      (all) => requests(all, { route: '/v1/chat', status: '200' }) === sent,
    );
    const victimName = nameOf(victim);
    expect(sumOf(after, 'chatwire_upstream_state', { upstream: victimName, state: 'ejected' })).toBe(1);
    expect(sumOf(after, 'chatwire_upstream_state', { upstream: victimName, state: 'healthy' })).toBe(0);
    for (const name of names.filter((name) => name !== victimName)) {
      expect(sumOf(after, 'chatwire_upstream_state', { upstream: name, state: 'healthy' })).toBe(1);
      expect(sumOf(after, 'chatwire_upstream_errors_total', { upstream: name })).toBe(0);
    }
    // Retried on another host, so the client saw none of it; the host's failure is counted all the same.
    expect(sumOf(after, 'chatwire_upstream_errors_total', { upstream: victimName })).toBe(1);
    expect(
      sumOf(after, 'chatwire_upstream_errors_total', {
        upstream: victimName,
        kind: 'upstream_unreachable',
      }),
    ).toBe(1);
    expect(requests(after, { route: '/v1/chat', status: '499' })).toBe(3);
  });
});
