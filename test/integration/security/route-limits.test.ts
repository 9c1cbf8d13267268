import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { rawRequest } from '../../support/raw-http.js';
import { routeKey, routesOf } from '../../support/route-table.js';
import { type RunningGateway, startGateway } from '../../support/start-gateway.js';

const BODY_LIMIT = 4096;
const MAX_MESSAGES = 5;

/**
 * Every route that takes a body, with the error envelope its clients read and whether it takes a list of
 * messages. The test below fails when the app has a body route this table does not name.
 */
const BODY_ROUTES: Record<string, { style: 'ollama' | 'openai'; messages?: (count: number) => unknown }> = {
  'POST /v1/chat': { style: 'ollama', messages: (count) => ({ messages: userMessages(count) }) },
  'POST /api/chat': {
    style: 'ollama',
    messages: (count) => ({ model: 'qwen2.5:7b', messages: userMessages(count) }),
  },
  'POST /v1/chat/completions': {
    style: 'openai',
    messages: (count) => ({ model: 'qwen2.5:7b', messages: userMessages(count) }),
  },
  'POST /api/generate': { style: 'ollama' },
  'POST /api/show': { style: 'ollama' },
  'POST /v1/conversations': { style: 'ollama' },
  'PATCH /v1/conversations/:id': { style: 'ollama' },
  'DELETE /v1/conversations/:id': { style: 'ollama' },
  'POST /v1/conversations/:id/messages': { style: 'ollama' },
  'POST /v1/conversations/:id/regenerate': { style: 'ollama' },
  'POST /v1/generations/:id/stop': { style: 'ollama' },
};

function userMessages(count: number) {
  return Array.from({ length: count }, (_, index) => ({ role: 'user', content: `message ${index}` }));
}

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url, {
    CHATWIRE_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    CHATWIRE_MAX_MESSAGES: String(MAX_MESSAGES),
  });
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});
afterEach(() => sim.reset());

function errorMessageOf(style: 'ollama' | 'openai', body: string): { message: string; param?: unknown } {
  const parsed = JSON.parse(body) as { error: unknown };
  if (style === 'ollama') {
    expect(parsed.error).toEqual(expect.any(String));
    return { message: parsed.error as string };
  }
  expect(parsed.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
  return parsed.error as { message: string; param?: unknown };
}

describe('every route that takes a body has a body limit', () => {
  it('the table names every route of the app that takes a body', () => {
    const bodyRoutes = routesOf(chatwire.gateway.app)
      .filter((route) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method))
      .map(routeKey);
    expect(bodyRoutes.sort()).toEqual(Object.keys(BODY_ROUTES).sort());
  });

  it.each(Object.entries(BODY_ROUTES))(
    '%s: a body over CHATWIRE_BODY_LIMIT_BYTES is a 413 in its envelope, sized or chunked',
    async (key, { style }) => {
      const [method = '', url = ''] = key.split(' ');
      const target = url.replace(':id', 'some-id');
      const body = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] });
      const framings: Array<Record<string, string>> = [{}, { 'transfer-encoding': 'chunked' }];
      for (const headers of framings) {
        const answer = await rawRequest(chatwire.url, method, target, { body, headers });
        expect(answer.status).toBe(413);
        expect(answer.headers['content-type']).toMatch(/^application\/json/);
        expect(errorMessageOf(style, answer.body).message).toBe(
          `request body is larger than the ${BODY_LIMIT}-byte limit`,
        );
      }
      expect(sim.requests).toEqual([]);
    },
  );
});

describe('every route that takes messages has a limit on their number', () => {
  const withMessages = Object.entries(BODY_ROUTES).filter(([, route]) => route.messages !== undefined);

  it.each(withMessages)(
    '%s: more than CHATWIRE_MAX_MESSAGES is a 400 naming the field; exactly that many is fine',
    async (key, route) => {
      const [method = '', target = ''] = key.split(' ');
      const make = route.messages as (count: number) => unknown;
      const over = await rawRequest(chatwire.url, method, target, {
        body: JSON.stringify(make(MAX_MESSAGES + 1)),
      });
      expect(over.status).toBe(400);
      const error = errorMessageOf(route.style, over.body);
      expect(error.message).toBe(`messages must have at most ${MAX_MESSAGES} items`);
      if (route.style === 'openai') expect(error.param).toBe('messages');
      expect(sim.requests).toEqual([]);
      const within = await rawRequest(chatwire.url, method, target, {
        body: JSON.stringify({ ...(make(MAX_MESSAGES) as object), stream: false }),
      });
      expect(within.status).toBe(200);
      const sent = sim.requests.find((request) => request.path === '/api/chat')?.body as {
        messages: unknown[];
      };
      expect(sent.messages.filter((message) => (message as { role: string }).role === 'user')).toHaveLength(
        MAX_MESSAGES,
      );
    },
  );

  it('a conversation sends at most CHATWIRE_MAX_MESSAGES of its history upstream, the newest', async () => {
    const created = await rawRequest(chatwire.url, 'POST', '/v1/conversations', { body: '{}' });
    const { id } = JSON.parse(created.body) as { id: string };
    for (let turn = 0; turn < 4; turn++) {
      const answer = await rawRequest(chatwire.url, 'POST', `/v1/conversations/${id}/messages`, {
        body: JSON.stringify({ content: `turn ${turn}`, stream: false }),
      });
      expect(answer.status).toBe(200);
    }
    const last = sim.requests.filter((request) => request.path === '/api/chat').at(-1)?.body as {
      messages: Array<{ role: string; content: string }>;
    };
    const history = last.messages.filter((message) => message.role !== 'system');
    // Seven messages so far (four questions, three replies): the newest five go upstream.
    expect(history).toHaveLength(MAX_MESSAGES);
    expect(history.at(0)).toMatchObject({ role: 'user', content: 'turn 1' });
    expect(history.at(-1)).toMatchObject({ role: 'user', content: 'turn 3' });
  });
});
