import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../../src/client/index.js';
import { startCuttingProxy } from '../../support/cutting-proxy.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { type RunningGateway, startGateway } from '../../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;
let proxy: Awaited<ReturnType<typeof startCuttingProxy>> | undefined;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url);
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});
afterEach(async () => {
  sim.reset();
  await proxy?.close();
});

const TOKENS = Array.from({ length: 60 }, (_, index) => `t${index} `);
const messages = [{ role: 'user' as const, content: 'hi' }];

describe('the SDK, through a proxy that cuts connections', () => {
  it('resumes by itself after each drop: every text event once, in order, then done; the model never stopped', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 3 });
    // The first answer is cut a few lines in, the first resume a few lines further, inside a line.
    proxy = await startCuttingProxy(chatwire.url, { 1: 900, 2: 650 });
    const client = createClient({ baseUrl: proxy.url });
    const texts: string[] = [];
    let done = 0;
    for await (const event of client.chat.stream({ messages })) {
      if (event.type === 'text') texts.push(event.text);
      if (event.type === 'done') done++;
    }
    expect(texts).toEqual(TOKENS);
    expect(done).toBe(1);
    expect(proxy.connections).toBe(3);
    expect(sim.aborts).toEqual([]);
  });

  it('resumes a conversation reply the same way, and the stored reply is the whole one', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 3 });
    proxy = await startCuttingProxy(chatwire.url, { 1: 900 });
    const conversation = await createClient({ baseUrl: chatwire.url }).conversations.create();
    const client = createClient({ baseUrl: proxy.url });
    const text = await client.conversations.stream(conversation.id, { content: 'hi' }).text();
    expect(text).toBe(TOKENS.join(''));
    expect(proxy.connections).toBe(2);
    await vi.waitFor(async () => {
      const stored = await client.conversations.get(conversation.id);
      expect(stored.messages[1]).toMatchObject({ status: 'complete', content: TOKENS.join('') });
    });
  });

  it('gives up after its attempts with a network_error when the gateway stays unreachable', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 3 });
    proxy = await startCuttingProxy(chatwire.url, { 1: 900, 2: 0, 3: 0 });
    const client = createClient({ baseUrl: proxy.url, resume: { attempts: 2 } });
    const texts: string[] = [];
    await expect(async () => {
      for await (const event of client.chat.stream({ messages }))
        if (event.type === 'text') texts.push(event.text);
    }).rejects.toMatchObject({ name: 'ChatwireError', code: 'network_error' });
    expect(texts.length).toBeGreaterThan(0);
    expect(texts).toEqual(TOKENS.slice(0, texts.length));
  });

  it('still stops the model when the caller leaves the loop: the detached generation is stopped', async () => {
    sim.behave({ tokens: Array.from({ length: 1000 }, () => 'x'), tokenDelayMs: 5 });
    const client = createClient({ baseUrl: chatwire.url });
    for await (const event of client.chat.stream({ messages })) if (event.type === 'text') break;
    const abort = await sim.nextAbort();
    expect(abort.phase).toBe('stream');
  });

  it('with resume: false, a drop ends the stream as before (the fetch error)', async () => {
    sim.behave({ tokens: TOKENS, tokenDelayMs: 3 });
    proxy = await startCuttingProxy(chatwire.url, { 1: 900 });
    const client = createClient({ baseUrl: proxy.url, resume: false });
    await expect(client.chat.stream({ messages }).text()).rejects.toThrow('terminated');
    expect(proxy.connections).toBe(1);
  });
});
