import { type IncomingMessage, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemoryGenerationStore } from '../../../src/generations/memory-generation-store.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { completeFrames, readThenDrop } from '../../support/partial-read.js';
import { until } from '../../support/pool-fixture.js';
import { chatBody, type RunningGateway, startGateway } from '../../support/start-gateway.js';

// The heap is measured after a full collection, which needs V8's gc() (a flag set at run time).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
function heapAfterCollection(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

let sim: OllamaSimulator | undefined;
let chatwire: RunningGateway | undefined;

async function start(env: Record<string, string>) {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url, env);
  return { sim, chatwire, store: chatwire.gateway.generations as MemoryGenerationStore };
}
afterEach(async () => {
  await chatwire?.close();
  await sim?.close();
});

function detached(url: string, controller: AbortController) {
  return fetch(`${url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'detach' },
    body: chatBody(),
    signal: controller.signal,
  });
}

describe('the frames kept for resumers', () => {
  it('past CHATWIRE_GENERATION_BYTES, the oldest frames are evicted: a resume asking for them gets 410, a later one is served', async () => {
    const { sim, chatwire } = await start({ CHATWIRE_GENERATION_BYTES: '2048' });
    sim.behave({ tokens: Array.from({ length: 100 }, (_, index) => `t${index}`) });
    const response = await detached(chatwire.url, new AbortController());
    const id = response.headers.get('chatwire-generation-id') as string;
    const frames = completeFrames(await response.text(), '\n');
    const early = await fetch(`${chatwire.url}/v1/generations/${id}/stream?after=0`);
    expect(early.status).toBe(410);
    expect(((await early.json()) as { error: string }).error).toBe(
      `the frames of generation ${id} after 0 are no longer kept (evicted to stay within the gateway's limits)`,
    );
    const late = await fetch(`${chatwire.url}/v1/generations/${id}/stream?after=95`);
    expect(await late.text()).toBe(frames.slice(95).join(''));
  });

  it('are forgotten CHATWIRE_GENERATION_TTL_MS after the end: then a resume gets 204', async () => {
    const { sim, chatwire } = await start({ CHATWIRE_GENERATION_TTL_MS: '300' });
    sim.behave({ tokens: ['a'] });
    const response = await detached(chatwire.url, new AbortController());
    const id = response.headers.get('chatwire-generation-id') as string;
    await response.text();
    expect((await fetch(`${chatwire.url}/v1/generations/${id}/stream`)).status).toBe(200);
    await until(
      'the generation expired',
      async () => (await fetch(`${chatwire.url}/v1/generations/${id}/stream`)).status === 204,
    );
  });

  it('stay within CHATWIRE_GENERATION_MAX_BYTES under 1,000 detached generations: the oldest are stopped, saying why', async () => {
    const limit = 256 * 1024;
    const { sim, chatwire, store } = await start({ CHATWIRE_GENERATION_MAX_BYTES: String(limit) });
    // Each reply is some 40 KB of frames: a thousand of them would keep 40 MB.
    sim.behave({ tokens: Array.from({ length: 200 }, () => 'y'.repeat(80)), tokenDelayMs: 15 });
    const heapBefore = heapAfterCollection();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, store.bytes);
    }, 5);
    const ids: string[] = [];
    const client = async () => {
      const controller = new AbortController();
      const response = await detached(chatwire.url, controller);
      ids.push(response.headers.get('chatwire-generation-id') as string);
      await readThenDrop(response, controller, 1);
    };
    // Four waves of 250 connections (more at once overflow the test server's listen queue); each reply
    // would run for 3 s, so without the limit all 1,000 would be kept at once.
    for (let wave = 0; wave < 4; wave++) await Promise.all(Array.from({ length: 250 }, client));
    expect(new Set(ids).size).toBe(1000);
    await until('every generation has ended', () => chatwire.gateway.activeCalls.size === 0, 60_000);
    clearInterval(sampler);
    peak = Math.max(peak, store.bytes);
    // The frames appended after the last check (one batch) may exceed it briefly; nothing more.
    expect(peak).toBeLessThanOrEqual(limit + 4096);
    // Stopped ones aborted their upstream.
    expect(sim.aborts.length).toBeGreaterThan(0);
    // What the gateway holds on to is its frames and a little per generation; the simulator's record of
    // everything it sent (40 MB) is dropped first.
    sim.reset();
    expect(heapAfterCollection() - heapBefore).toBeLessThan(limit + 16 * 1024 * 1024);
    const stopped = await fetch(`${chatwire.url}/v1/generations/${ids[0]}/stream?after=0`);
    expect(stopped.status).toBe(410);
  }, 120_000);

  it('a detached reply does not wait for a client that reads slowly: the model finishes, the client still gets every frame', async () => {
    const { sim, chatwire } = await start({ CHATWIRE_GENERATION_BYTES: String(32 * 1024 * 1024) });
    // 12 MB of reply: far more than the loopback sockets between them hold.
    const tokens = Array.from({ length: 12_000 }, (_, index) => `${index}`.padEnd(1000, '.'));
    sim.behave({ tokens });
    const response = await pausedPost(chatwire.url);
    await until(
      'the upstream sent the whole reply while the client read nothing',
      () => sim.activeStreams() === 0,
      20_000,
    );
    const frames = completeFrames(await readAll(response), '\n');
    const contents = frames.map(
      (line) => (JSON.parse(line) as { message: { content: string } }).message.content,
    );
    expect(contents.slice(0, -1)).toEqual(tokens);
    expect((JSON.parse(frames.at(-1) as string) as { done: boolean }).done).toBe(true);
  }, 30_000);

  it('a slow client of a detached reply whose unread frames were evicted gets one error frame saying so', async () => {
    const { sim, chatwire } = await start({ CHATWIRE_GENERATION_BYTES: String(256 * 1024) });
    sim.behave({ tokens: Array.from({ length: 12_000 }, (_, index) => `${index}`.padEnd(1000, '.')) });
    const response = await pausedPost(chatwire.url);
    await until('the upstream is done', () => sim.activeStreams() === 0, 20_000);
    const frames = completeFrames(await readAll(response), '\n');
    expect(frames.at(-1)).toBe(
      '{"error":"this client fell too far behind: the frames it had not read yet were evicted (resume to see what is kept)"}\n',
    );
    expect(frames.slice(0, -1).every((line) => (JSON.parse(line) as { done: boolean }).done === false)).toBe(
      true,
    );
  }, 30_000);
});

/** A detached /v1/chat whose client reads nothing until told: its socket applies backpressure. */
function pausedPost(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/v1/chat`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'detach' } },
      (response) => {
        response.pause();
        resolve(response);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(chatBody());
  });
}

async function readAll(response: IncomingMessage): Promise<string> {
  let text = '';
  response.setEncoding('utf8');
  for await (const piece of response) text += piece;
  return text;
}
