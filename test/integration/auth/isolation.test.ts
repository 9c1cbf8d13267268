import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type KeysFixture, startWithKeys } from '../../support/keys-fixture.js';

/**
 * A conversation belongs to the key that created it: to every other key it does not exist (404, not 403),
 * on every route; an admin key sees them all.
 */
let fixture: KeysFixture & { keys: Record<string, string> };
let aliceConversation: string;
const SECRET = 'alice-only secret words';

beforeAll(async () => {
  fixture = await startWithKeys([{ name: 'alice' }, { name: 'bob' }, { name: 'root', admin: true }]);
  aliceConversation = await create('alice');
  const turn = await send('alice', aliceConversation, SECRET);
  expect(turn.status).toBe(200);
  await turn.text();
});
afterAll(async () => {
  await fixture.close();
});

function as(name: string): Record<string, string> {
  return { 'content-type': 'application/json', ...bearer(fixture.keys[name] as string) };
}

async function create(name: string): Promise<string> {
  const response = await fetch(`${fixture.chatwire.url}/v1/conversations`, {
    method: 'POST',
    headers: as(name),
    body: '{}',
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

function send(name: string, id: string, content: string) {
  return fetch(`${fixture.chatwire.url}/v1/conversations/${id}/messages`, {
    method: 'POST',
    headers: as(name),
    body: JSON.stringify({ content, stream: false }),
  });
}

async function listIds(name: string): Promise<string[]> {
  const response = await fetch(`${fixture.chatwire.url}/v1/conversations`, { headers: as(name) });
  return ((await response.json()) as { conversations: Array<{ id: string }> }).conversations.map((c) => c.id);
}

describe('conversations are private to their key', () => {
  const routes: Array<[string, (name: string, id: string) => Promise<Response>]> = [
    ['read it', (name, id) => fetch(`${fixture.chatwire.url}/v1/conversations/${id}`, { headers: as(name) })],
    [
      'rename it',
      (name, id) =>
        fetch(`${fixture.chatwire.url}/v1/conversations/${id}`, {
          method: 'PATCH',
          headers: as(name),
          body: JSON.stringify({ title: 'mine now' }),
        }),
    ],
    ['continue it', (name, id) => send(name, id, 'what did alice say?')],
    [
      'delete it',
      (name, id) =>
        fetch(`${fixture.chatwire.url}/v1/conversations/${id}`, {
          method: 'DELETE',
          headers: bearer(fixture.keys[name] as string),
        }),
    ],
  ];

  for (const [what, route] of routes) {
    it(`another key cannot ${what}: 404, exactly as for an id that does not exist`, async () => {
      const response = await route('bob', aliceConversation);
      expect(response.status).toBe(404);
      const body = await response.text();
      expect(body).toBe(JSON.stringify({ error: `conversation '${aliceConversation}' not found` }));
      expect(body).not.toContain(SECRET);
      const missing = await route('bob', '00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
    });
  }

  it('nothing another key tried changed it, and the model never saw their message', async () => {
    const response = await fetch(`${fixture.chatwire.url}/v1/conversations/${aliceConversation}`, {
      headers: as('alice'),
    });
    const conversation = (await response.json()) as {
      title: string | null;
      messages: Array<{ content: string }>;
    };
    expect(conversation.title).not.toBe('mine now');
    expect(conversation.messages.map((message) => message.content)).toEqual([SECRET, 'Hello world']);
    const sent = fixture.sim.requests.filter((request) => request.path === '/api/chat').map((r) => r.rawBody);
    expect(sent.some((body) => body.includes('what did alice say?'))).toBe(false);
  });

  it('lists only the caller’s own conversations; an admin key lists and reads them all', async () => {
    const bobs = await create('bob');
    expect(await listIds('alice')).toEqual([aliceConversation]);
    expect(await listIds('bob')).toEqual([bobs]);
    expect((await listIds('root')).sort()).toEqual([aliceConversation, bobs].sort());
    const read = await fetch(`${fixture.chatwire.url}/v1/conversations/${aliceConversation}`, {
      headers: as('root'),
    });
    expect(read.status).toBe(200);
  });
});
