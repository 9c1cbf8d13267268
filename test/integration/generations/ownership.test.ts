import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, type KeysFixture, startWithKeys } from '../../support/keys-fixture.js';
import { completeFrames, readThenDrop } from '../../support/partial-read.js';
import { until } from '../../support/pool-fixture.js';

let fixture: KeysFixture & { keys: Record<string, string> };

beforeAll(async () => {
  fixture = await startWithKeys([{ name: 'ana' }, { name: 'bo' }, { name: 'ops', admin: true }]);
});
afterAll(async () => {
  await fixture.close();
});

function get(path: string, key: string) {
  return fetch(`${fixture.chatwire.url}${path}`, { headers: bearer(key) });
}

async function startConversationReply(key: string) {
  const { url } = fixture.chatwire;
  const created = await fetch(`${url}/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: '{}',
  });
  const { id } = (await created.json()) as { id: string };
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/conversations/${id}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify({ content: 'hi' }),
    signal: controller.signal,
  });
  return {
    conversation: id,
    generation: response.headers.get('chatwire-generation-id') as string,
    response,
    controller,
  };
}

describe('a generation belongs to the key that started it', () => {
  it('another key gets 404 for its stream and its stop, as for its conversation; its own key and an admin key resume it', async () => {
    const { keys, sim } = fixture;
    sim.behave({ tokens: Array.from({ length: 30 }, (_, index) => `t${index} `), tokenDelayMs: 15 });
    const { conversation, generation, response, controller } = await startConversationReply(
      keys.ana as string,
    );
    const { text } = await readThenDrop(response, controller, 1);
    expect(text).toHaveLength(1);
    for (const path of [`/v1/generations/${generation}/stream`, `/v1/conversations/${conversation}/stream`]) {
      const foreign = await get(path, keys.bo as string);
      expect(foreign.status).toBe(404);
    }
    const stop = await fetch(`${fixture.chatwire.url}/v1/generations/${generation}/stop`, {
      method: 'POST',
      headers: bearer(keys.bo as string),
    });
    expect(stop.status).toBe(404);
    expect(await stop.json()).toEqual({ error: `generation '${generation}' not found` });
    // The conversation's stream is the AI SDK's resume contract: the running reply from its start.
    const own = await get(`/v1/conversations/${conversation}/stream`, keys.ana as string);
    expect(own.status).toBe(200);
    expect(own.headers.get('chatwire-generation-id')).toBe(generation);
    const admin = await get(`/v1/generations/${generation}/stream?after=0`, keys.ops as string);
    const ownText = await own.text();
    expect(await admin.text()).toBe(ownText);
    const contents = completeFrames(ownText, '\n').map(
      (line) => (JSON.parse(line) as { message: { content: string } }).message.content,
    );
    expect(contents.join('')).toBe(Array.from({ length: 30 }, (_, index) => `t${index} `).join(''));
    // Over: nothing runs in the conversation any more (204), and its reply is stored complete.
    expect((await get(`/v1/conversations/${conversation}/stream`, keys.ana as string)).status).toBe(204);
    await vi.waitFor(async () => {
      const stored = (await (await get(`/v1/conversations/${conversation}`, keys.ana as string)).json()) as {
        messages: Array<{ status: string; content: string }>;
      };
      expect(stored.messages[1]).toMatchObject({ status: 'complete', content: contents.join('') });
    });
  });

  it('without a key, resuming is refused with 401 like every /v1 route', async () => {
    expect((await fetch(`${fixture.chatwire.url}/v1/generations/gen_x/stream`)).status).toBe(401);
  });
});

describe('a detached generation under the limits', () => {
  it("still holds its key's stream after its client left, until it ends", async () => {
    const { sim, chatwire } = fixture;
    const key = await fixture.createKey('single', { limits: { streams: 1 } });
    const chat = (signal?: AbortSignal) =>
      fetch(`${chatwire.url}/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'chatwire-on-disconnect': 'detach', ...bearer(key) },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
        ...(signal && { signal }),
      });
    await until('the key is known', async () => (await get('/v1/personas', key)).status === 200);
    sim.behave({ tokens: Array.from({ length: 60 }, () => 'z'), tokenDelayMs: 10 });
    const controller = new AbortController();
    const first = await chat(controller.signal);
    const id = first.headers.get('chatwire-generation-id') as string;
    await readThenDrop(first, controller, 1);
    expect((await chat()).status).toBe(429);
    // Once it has ended, the stream is free again.
    await (await get(`/v1/generations/${id}/stream`, key)).text();
    sim.behave({ tokens: ['ok'] });
    await until('the stream is released', async () => (await chat()).status === 200);
  });
});
