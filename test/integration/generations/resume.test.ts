import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { completeFrames, readThenDrop, seededRandom } from '../../support/partial-read.js';
import { until } from '../../support/pool-fixture.js';
import { chatBody, type RunningGateway, startGateway } from '../../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url, {
    CHATWIRE_ALLOWED_MODELS: '*',
    CHATWIRE_GENERATION_TTL_MS: '60000',
  });
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});
beforeEach(() => sim.reset());

const TOKENS = Array.from({ length: 24 }, (_, index) => `w${index} `);

function postStream(
  path: string,
  body: string,
  controller: AbortController,
  headers: Record<string, string> = {},
) {
  return fetch(`${chatwire.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'detach', ...headers },
    body,
    signal: controller.signal,
  });
}

function resume(id: string, query: string, headers: Record<string, string> = {}) {
  return fetch(`${chatwire.url}/v1/generations/${id}/stream${query}`, { headers });
}

/** What a frame says, whatever its timestamps: the text of an NDJSON line, or an SSE event's data. */
function meaningOfLine(line: string): unknown {
  const object = JSON.parse(line) as { message?: { content?: string }; done?: boolean; error?: string };
  return { content: object.message?.content, done: object.done, error: object.error };
}

describe('a reply dropped at a random point and resumed', () => {
  it('on /v1/chat, 200 times: the frames received plus the resumed ones are the uninterrupted run, frame for frame', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 1 });
    const whole = await (await postStream('/v1/chat', chatBody(), new AbortController())).text();
    const wholeFrames = completeFrames(whole, '\n');
    expect(wholeFrames).toHaveLength(TOKENS.length + 1);
    const random = seededRandom(16);
    const run = async (round: number) => {
      const controller = new AbortController();
      const response = await postStream('/v1/chat', chatBody(), controller);
      const id = response.headers.get('chatwire-generation-id') as string;
      const cut = Math.floor(random() * (whole.length + 40));
      const { text } = await readThenDrop(response, controller, cut);
      const received = completeFrames(text, '\n');
      const resumed = await resume(id, `?after=${received.length}`);
      if (received.length === wholeFrames.length) {
        expect(resumed.status, `round ${round}`).toBe(204);
        return received;
      }
      expect(resumed.status, `round ${round}`).toBe(200);
      expect(resumed.headers.get('content-type')).toBe('application/x-ndjson');
      const rest = completeFrames(await resumed.text(), '\n');
      // The same generation replayed from its start is byte for byte what the client holds, then the rest.
      const replay = await (await resume(id, '?after=0')).text();
      expect(received.join('') + rest.join(''), `round ${round}`).toBe(replay);
      return [...received, ...rest];
    };
    const rounds: Promise<string[]>[] = [];
    for (let round = 0; round < 200; round++) {
      rounds.push(run(round));
      // Ten at a time: enough to overlap, not so many that the test measures the machine.
      if (rounds.length % 10 === 0) await Promise.all(rounds.slice(-10));
    }
    for (const frames of await Promise.all(rounds)) {
      expect(frames.map(meaningOfLine)).toEqual(wholeFrames.map(meaningOfLine));
    }
    expect(sim.aborts).toEqual([]);
  }, 60_000);

  it('on /v1/chat/completions with Last-Event-ID, 50 times: every SSE event once, in order', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 1 });
    const body = JSON.stringify({
      model: 'qwen2.5:7b',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const contentOf = (event: string) => {
      const data = event.split('\n').find((line) => line.startsWith('data: ')) as string;
      if (data === 'data: [DONE]') return '[DONE]';
      const object = JSON.parse(data.slice(6)) as {
        choices: Array<{ delta: { content?: string }; finish_reason: string | null }>;
      };
      return [object.choices[0]?.delta.content, object.choices[0]?.finish_reason];
    };
    const whole = completeFrames(
      await (await postStream('/v1/chat/completions', body, new AbortController())).text(),
      '\n\n',
    );
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const controller = new AbortController();
      const response = await postStream('/v1/chat/completions', body, controller);
      const id = response.headers.get('chatwire-generation-id') as string;
      const received = completeFrames(
        (await readThenDrop(response, controller, Math.floor(random() * whole.join('').length))).text,
        '\n\n',
      );
      const lastId = received.at(-1)?.split('\n')[0]?.slice('id: '.length);
      const resumed = await resume(id, '', lastId === undefined ? {} : { 'last-event-id': lastId });
      const rest = resumed.status === 204 ? [] : completeFrames(await resumed.text(), '\n\n');
      const frames = [...received, ...rest];
      expect(frames.map((frame, index) => frame.startsWith(`id: ${id}-${index + 1}\n`))).toEqual(
        frames.map(() => true),
      );
      expect(frames.map(contentOf)).toEqual(whole.map(contentOf));
    }
  }, 60_000);

  it('on /api/chat: the same frames, resumed in the same NDJSON', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 2 });
    const controller = new AbortController();
    const response = await postStream(
      '/api/chat',
      JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
      controller,
    );
    const id = response.headers.get('chatwire-generation-id') as string;
    const received = completeFrames((await readThenDrop(response, controller, 300)).text, '\n');
    const rest = completeFrames(await (await resume(id, `?after=${received.length}`)).text(), '\n');
    expect(
      [...received, ...rest]
        .map(meaningOfLine)
        .map((frame) => (frame as { content: string }).content)
        .join(''),
    ).toBe(TOKENS.join(''));
  });
});

describe('resuming', () => {
  it('after the end, within the TTL: replays the whole reply, and 204 once the client has it all', async () => {
    sim.behave({ tokens: ['a', 'b'] });
    const response = await postStream('/v1/chat', chatBody(), new AbortController());
    const id = response.headers.get('chatwire-generation-id') as string;
    const text = await response.text();
    expect(await (await resume(id, '?after=0')).text()).toBe(text);
    expect(await (await resume(id, '?after=1')).text()).toBe(completeFrames(text, '\n').slice(1).join(''));
    expect((await resume(id, '?after=3')).status).toBe(204);
  });

  it('answers 204 for an id it does not know, and 400 naming a malformed after or Last-Event-ID', async () => {
    expect((await resume('gen_000000000000000000000000', '')).status).toBe(204);
    const bad = await resume('gen_1', '?after=-1');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^after must be/);
    const badId = await resume('gen_1', '', { 'last-event-id': 'gen_2-4' });
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as { error: string }).error).toMatch(
      /^Last-Event-ID must be 'gen_1-<frame number>'/,
    );
  });

  it('refuses an unknown chatwire-on-disconnect with 400 naming the header, before the upstream is called', async () => {
    const response = await postStream('/v1/chat', chatBody(), new AbortController(), {
      'chatwire-on-disconnect': 'linger',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /^header chatwire-on-disconnect must be 'abort' or 'detach'/,
    );
    expect(sim.requests).toEqual([]);
  });

  it('joins a reply still being generated and follows it live to its end', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 20 });
    const controller = new AbortController();
    const response = await postStream('/v1/chat', chatBody(), controller);
    const id = response.headers.get('chatwire-generation-id') as string;
    const watcher = await resume(id, '?after=0');
    const mine = await response.text();
    expect(await watcher.text()).toBe(mine);
  });
});

describe('on disconnect', () => {
  it('abort (the default on /v1/chat) still aborts the upstream at once; a resume then replays up to one error frame', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 20 });
    const controller = new AbortController();
    const response = await fetch(`${chatwire.url}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(),
      signal: controller.signal,
    });
    const id = response.headers.get('chatwire-generation-id') as string;
    const { text } = await readThenDrop(response, controller, 1);
    const left = performance.now();
    const abort = await sim.nextAbort();
    expect(abort.at - left).toBeLessThan(100);
    const frames = completeFrames(await (await resume(id, '?after=0')).text(), '\n');
    expect(frames.at(-1)).toBe('{"error":"client closed the connection"}\n');
    expect(frames.length).toBeLessThan(TOKENS.length);
    expect(text.length).toBe(1);
  });

  it('detach keeps generating without the client; a stop ends it with one error frame, from any request, idempotently', async () => {
    sim.behave({ tokens: Array.from({ length: 500 }, () => 'x'), tokenDelayMs: 5 });
    const controller = new AbortController();
    const response = await postStream('/v1/chat', chatBody(), controller);
    const id = response.headers.get('chatwire-generation-id') as string;
    await readThenDrop(response, controller, 1);
    let seen = 0;
    await until('the generation goes on without its client', async () => {
      const reader = (await resume(id, '?after=0')).body?.getReader();
      const { value } = (await reader?.read()) ?? {};
      await reader?.cancel();
      seen = Math.max(seen, new TextDecoder().decode(value).split('\n').length);
      return seen > 5;
    });
    const live = resume(id, '?after=0');
    const stop = await fetch(`${chatwire.url}/v1/generations/${id}/stop`, { method: 'POST' });
    expect(stop.status).toBe(200);
    expect(await stop.json()).toEqual({ id, stopped: true });
    await sim.nextAbort();
    const frames = completeFrames(await (await live).text(), '\n');
    expect(frames.at(-1)).toBe(
      `{"error":"generation ${id} was stopped (POST /v1/generations/${id}/stop)"}\n`,
    );
    expect((await fetch(`${chatwire.url}/v1/generations/${id}/stop`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${chatwire.url}/v1/generations/gen_nope/stop`, { method: 'POST' })).status).toBe(
      404,
    );
  });
});
