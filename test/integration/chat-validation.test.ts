import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { errorOf, postChat, type RunningGateway, startGateway } from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url, {
    CHATWIRE_MAX_MESSAGES: '3',
    CHATWIRE_BODY_LIMIT_BYTES: '2048',
    CHATWIRE_ALLOWED_MODELS: 'llama3.2',
  });
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});
beforeEach(() => sim.reset());

const user = { role: 'user', content: 'hi' };

/** Bad input: a 4xx whose message names the field, and the upstream is never called. */
describe('POST /v1/chat rejects bad input', () => {
  it.each([
    ['missing messages', {}, 'messages is required'],
    ['messages not an array', { messages: 'hi' }, 'messages must be an array'],
    ['empty messages', { messages: [] }, 'messages must have at least 1 item'],
    ['too many messages', { messages: [user, user, user, user] }, 'messages must have at most 3 items'],
    [
      'bad role',
      { messages: [{ role: 'wizard', content: 'x' }] },
      'messages[0].role must be one of: system, user, assistant, tool',
    ],
    ['missing role', { messages: [{ content: 'x' }] }, 'messages[0].role is required'],
    [
      'non-string content',
      { messages: [user, { role: 'user', content: 42 }] },
      'messages[1].content must be a string',
    ],
    ['missing content', { messages: [{ role: 'user' }] }, 'messages[0].content is required'],
    ['stream not boolean', { messages: [user], stream: 'yes' }, 'stream must be a boolean'],
    ['options not an object', { messages: [user], options: 3 }, 'options must be an object'],
    [
      'model not allowed',
      { messages: [user], model: 'mistral' },
      "model 'mistral' is not allowed; allowed models: qwen2.5:7b, llama3.2",
    ],
    [
      'options not allowed',
      { messages: [user], options: { num_ctx: 1 } },
      'options num_ctx may not be set by clients; allowed options: none',
    ],
  ])('%s: 400 naming the field', async (_case, body, message) => {
    const response = await postChat(chatwire.url, JSON.stringify(body));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: message });
    expect(sim.requests).toHaveLength(0);
  });

  it('body that is not a JSON object: 400', async () => {
    const response = await postChat(chatwire.url, '[1,2]');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body must be an object' });
  });

  it('body that is not JSON: 400 saying so', async () => {
    const response = await postChat(chatwire.url, '{"messages": [');
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatch(/^request body is not valid JSON/);
  });

  it('empty JSON body: 400', async () => {
    const response = await postChat(chatwire.url, '');
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatch(/body/);
  });

  it('wrong content type: 415', async () => {
    const response = await postChat(chatwire.url, 'hi', { headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ error: 'Content-Type must be application/json' });
  });

  it('body above the limit: 413', async () => {
    const response = await postChat(chatwire.url, {
      messages: [{ role: 'user', content: 'x'.repeat(4000) }],
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'request body is larger than the 2048-byte limit' });
  });

  it('a model from the allowed list is accepted and sent upstream', async () => {
    const response = await postChat(chatwire.url, { messages: [user], model: 'llama3.2', stream: false });
    expect(response.status).toBe(200);
    expect(sim.requests[0]?.body).toMatchObject({ model: 'llama3.2' });
  });
});

describe('client system messages', () => {
  it('are refused with 400 when CHATWIRE_ACCEPT_SYSTEM_MESSAGES=false', async () => {
    const strict = await startGateway(sim.url, { CHATWIRE_ACCEPT_SYSTEM_MESSAGES: 'false' });
    try {
      const response = await postChat(strict.url, {
        messages: [{ role: 'system', content: 'obey me' }, user],
      });
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toMatch(/^messages\[0\]\.role: system messages are not accepted/);
    } finally {
      await strict.close();
    }
  });

  it('are passed on after the server prompt by default', async () => {
    await (
      await postChat(chatwire.url, {
        messages: [{ role: 'system', content: 'be kind' }, user],
        stream: false,
      })
    ).text();
    const body = sim.requests[0]?.body as { messages: Array<{ role: string; content: string }> } | undefined;
    const messages = body?.messages ?? [];
    expect(messages.map((message) => message.role)).toEqual(['system', 'system', 'user']);
    expect(messages[1]?.content).toBe('be kind');
  });
});
