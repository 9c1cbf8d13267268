import { describe, expect, it } from 'vitest';
import { ChatwireError, createClient } from './index.js';

/** A fetch that records what it was asked and answers with a fixed body. */
function fakeFetch(body: string, init: ResponseInit = {}) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: typeof globalThis.fetch = async (input, requestInit) => {
    calls.push({ url: String(input), init: requestInit });
    return new Response(body, init);
  };
  return { calls, fetch };
}

const messages = [{ role: 'user' as const, content: 'hi' }];
const done = '{"message":{"content":""},"done":true,"eval_count":2}\n';

describe('createClient', () => {
  it('sends the API key, the JSON body without the signal, and no request until iterated', async () => {
    const { calls, fetch } = fakeFetch(done);
    const client = createClient({ baseUrl: 'http://gw.test/base/', apiKey: 'k', fetch });
    const stream = client.chat.stream({ messages, persona: 'pirate', signal: new AbortController().signal });
    expect(calls).toEqual([]);
    expect(await stream.text()).toBe('');
    expect(calls[0]?.url).toBe('http://gw.test/base/v1/chat');
    expect(calls[0]?.init?.headers).toMatchObject({ authorization: 'Bearer k' });
    expect(JSON.parse(String(calls[0]?.init?.body))).toEqual({ messages, persona: 'pirate', stream: true });
  });

  it('refuses to read a stream twice', async () => {
    const stream = createClient({ baseUrl: 'http://gw.test', fetch: fakeFetch(done).fetch }).chat.stream({
      messages,
    });
    await stream.text();
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it('reports a line that is not JSON as bad_response', async () => {
    const client = createClient({ baseUrl: 'http://gw.test', fetch: fakeFetch('oops\n').fetch });
    await expect(client.chat.stream({ messages }).text()).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('takes the message of an error status from its body, or falls back to the status', async () => {
    const withBody = createClient({
      baseUrl: 'http://gw.test',
      fetch: fakeFetch('{"error":"messages must not be empty"}', { status: 400 }).fetch,
    });
    const error = await withBody.chat.send({ messages }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChatwireError);
    expect(error).toMatchObject({ status: 400, code: 'http_400', message: 'messages must not be empty' });
    const bare = createClient({ baseUrl: 'http://gw.test', fetch: fakeFetch('', { status: 502 }).fetch });
    await expect(bare.personas.list()).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });

  it('yields nothing after the caller aborts, not even lines that came in the same read', async () => {
    const lines = ['a', 'b', 'c'].map((text) => `{"message":{"content":"${text}"},"done":false}\n`);
    const { fetch } = fakeFetch(lines.join('') + done);
    const controller = new AbortController();
    const stream = createClient({ baseUrl: 'http://gw.test', fetch }).chat.stream({
      messages,
      signal: controller.signal,
    });
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) {
        if (event.type === 'text') seen.push(event.text);
        controller.abort();
      }
    })().catch((error: unknown) => error);
    expect(seen).toEqual(['a']);
    expect(failure).toMatchObject({ name: 'AbortError' });
  });

  it('reports a non-streaming reply without done:true as truncated', async () => {
    const body = '{"message":{"content":"part"},"done":false}';
    const client = createClient({ baseUrl: 'http://gw.test', fetch: fakeFetch(body).fetch });
    await expect(client.chat.send({ messages })).rejects.toMatchObject({ code: 'truncated' });
  });
});
