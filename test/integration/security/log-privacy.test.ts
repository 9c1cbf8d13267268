import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../../src/storage/open-conversation-store.js';
import { type Child, startChild } from '../../support/child-gateway.js';
import { bearer, startWithKeys } from '../../support/keys-fixture.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { startOpenAiSimulator } from '../../support/openai-simulator.js';
import { until } from '../../support/pool-fixture.js';
import { rawRequest } from '../../support/raw-http.js';
import { startGateway } from '../../support/start-gateway.js';

// Every secret a request carries is a unique canary; the test reads the whole log and finds none of them.
type Log = Array<Record<string, unknown>>;

function canary(what: string): string {
  return `canary-${what}-${randomUUID()}`;
}

/** A string shaped like a chatwire key that no gateway knows. */
function unknownKey(): string {
  return `cw_${randomUUID().replaceAll('-', '')}`;
}

interface Secrets {
  /** Must never be logged, whatever the settings. */
  keys: string[];
  /** Content: logged only with CHATWIRE_LOG_CONTENT=true, and then this one must be there. */
  content: string[];
  chatContent: string;
  /** How many requests were sent: as many request lines must be in the log before it is read. */
  requests: number;
}

/** Requests that succeed and fail in every way a client can make them, each carrying canaries. */
async function exercise(
  url: string,
  sim: OllamaSimulator,
  key: string,
  limitedKey: string,
): Promise<Secrets> {
  const secrets: Secrets = {
    keys: [key, limitedKey],
    content: [],
    chatContent: canary('chat-content'),
    requests: 0,
  };
  const secret = (what: string) => {
    const value = canary(what);
    secrets.content.push(value);
    return value;
  };
  const send = (
    method: string,
    target: string,
    body?: unknown,
    headers: Record<string, string> = bearer(key),
  ) => {
    secrets.requests++;
    return rawRequest(url, method, target, {
      headers,
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  };
  const messages = () => [
    { role: 'system', content: secret('system-message') },
    { role: 'user', content: secret('user') },
    {
      role: 'assistant',
      content: '',
      tool_calls: [{ function: { name: 'lookup', arguments: { query: secret('tool-arguments') } } }],
    },
    { role: 'tool', content: secret('tool-result'), tool_name: 'lookup' },
    { role: 'user', content: secrets.chatContent },
  ];
  sim.behave({ tokens: [secret('reply-token')] });
  await send('POST', '/v1/chat', { messages: messages(), persona: 'pirate' });
  await send('POST', '/v1/chat', { messages: messages(), stream: false });
  await send('POST', '/api/chat', {
    model: 'qwen2.5:7b',
    messages: messages(),
    tools: [{ type: 'function', function: { name: secret('tool-name'), description: secret('tool-doc') } }],
  });
  await send('POST', '/api/generate', {
    model: 'qwen2.5:7b',
    prompt: secret('prompt'),
    system: secret('system'),
  });
  const completion = { model: 'qwen2.5:7b', messages: [{ role: 'user', content: secret('openai-user') }] };
  await send('POST', '/v1/chat/completions', { ...completion, stream: true });
  await send('POST', '/v1/chat/completions', completion);
  const created = await send('POST', '/v1/conversations', { title: secret('title'), persona: 'pirate' });
  const { id } = JSON.parse(created.body) as { id: string };
  await send('POST', `/v1/conversations/${id}/messages`, { content: secret('conversation-message') });
  await send('PATCH', `/v1/conversations/${id}`, { title: secret('renamed') });
  await send('POST', `/v1/conversations/${id}/regenerate`, {});
  await send('GET', `/v1/conversations/${id}`);
  // Failures: 400 (bad field, bad JSON), 401 (no, unknown, malformed, query and x-api-key keys), 404, 413, 429.
  await send('POST', '/v1/chat', { messages: [{ role: 'bogus', content: secret('invalid-role') }] });
  await send('POST', '/v1/chat', `{"messages":[{"role":"user","content":"${secret('bad-json')}"}`);
  for (const presented of [unknownKey(), canary('malformed-key')]) {
    secrets.keys.push(presented);
    await send('POST', '/v1/chat', { messages: messages() }, bearer(presented));
  }
  const queryKey = unknownKey();
  const headerKey = canary('x-api-key');
  secrets.keys.push(queryKey, headerKey);
  await send('GET', `/v1/conversations?key=${queryKey}&api_key=${queryKey}`, undefined, {
    'x-api-key': headerKey,
  });
  await send('GET', `/v1/models?api_key=${key}`);
  await send('GET', `/v1/no-such-route/${id}?token=${key}`);
  await send('POST', '/v1/chat', { messages: [{ role: 'user', content: secret('too-large').repeat(200) }] });
  await send('POST', '/v1/chat', { messages: messages() }, bearer(limitedKey));
  await send('POST', '/v1/chat', { messages: messages() }, bearer(limitedKey));
  // Upstream failures before the first token and in-band after it.
  sim.behave({ preError: { status: 500, error: 'runner crashed' } });
  await send('POST', '/v1/chat', { messages: messages() });
  sim.behave({ midStream: { afterChunks: 1, mode: 'error-line', message: 'runner crashed' } });
  await send('POST', '/v1/chat', { messages: messages() });
  await send('POST', '/v1/chat/completions', { ...completion, stream: true });
  sim.behave({ midStream: { afterChunks: 1, mode: 'destroy' } });
  await send('POST', '/api/chat', { model: 'qwen2.5:7b', messages: messages() });
  sim.reset();
  return secrets;
}

function expectNoSecrets(log: Log, secrets: Secrets, options: { content: boolean }): void {
  const text = JSON.stringify(log);
  for (const key of secrets.keys) expect(text).not.toContain(key);
  // A key's first characters are its public prefix (shown by `chatwire keys list`); more than that is not.
  for (const key of secrets.keys) expect(text).not.toContain(key.slice(0, 16));
  // No request headers are logged at all (the 401's own message names the Authorization header, no value).
  expect(log.filter((line) => 'headers' in line || 'req' in line)).toEqual([]);
  if (!options.content) {
    for (const value of [...secrets.content, secrets.chatContent]) expect(text).not.toContain(value);
  } else {
    expect(text).toContain(secrets.chatContent);
  }
}

function personaFile(): { file: string; prompt: string } {
  const prompt = canary('persona-prompt');
  const file = join(mkdtempSync(join(tmpdir(), 'chatwire-privacy-')), 'chatwire.json');
  writeFileSync(file, JSON.stringify({ personas: { pirate: { system_prompt: prompt } } }));
  return { file, prompt };
}

describe('keys and content never reach the log (in-process gateway)', () => {
  let fixture: Awaited<ReturnType<typeof startWithKeys>> | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  it.each(['debug', 'trace'])('at level %s', async (level) => {
    const persona = personaFile();
    const systemPrompt = canary('system-prompt');
    fixture = await startWithKeys([{ name: 'user' }], {
      CHATWIRE_LOG_LEVEL: level,
      CHATWIRE_SYSTEM_PROMPT: systemPrompt,
      CHATWIRE_CONFIG_FILE: persona.file,
      CHATWIRE_BODY_LIMIT_BYTES: '4096',
    });
    const limited = await fixture.createKey('limited', { limits: { rpm: 1 } });
    const { chatwire, sim, logLines } = fixture;
    await until('the limited key is known', async () => {
      const answer = await rawRequest(chatwire.url, 'GET', '/v1/personas', { headers: bearer(limited) });
      return answer.status !== 401;
    });
    logLines.length = 0;
    const secrets = await exercise(chatwire.url, sim, fixture.keys.user ?? '', limited);
    secrets.content.push(systemPrompt, persona.prompt);
    await until(
      'every request is logged',
      () => logLines.filter((line) => line.msg === 'request').length >= secrets.requests,
    );
    const statuses = new Set(logLines.map((line) => line.status));
    for (const status of [200, 201, 400, 401, 404, 413, 429, 502]) expect(statuses).toContain(status);
    expectNoSecrets(logLines, secrets, { content: false });
  });

  it('with CHATWIRE_LOG_CONTENT=true the chat content is logged (so the checks above can fail), keys still not', async () => {
    fixture = await startWithKeys([{ name: 'user' }], {
      CHATWIRE_LOG_LEVEL: 'debug',
      CHATWIRE_LOG_CONTENT: 'true',
      CHATWIRE_CONFIG_FILE: personaFile().file,
      CHATWIRE_BODY_LIMIT_BYTES: '4096',
    });
    const limited = await fixture.createKey('limited', { limits: { rpm: 1 } });
    const { chatwire, sim, logLines } = fixture;
    await until('the limited key is known', async () => {
      const answer = await rawRequest(chatwire.url, 'GET', '/v1/personas', { headers: bearer(limited) });
      return answer.status !== 401;
    });
    const secrets = await exercise(chatwire.url, sim, fixture.keys.user ?? '', limited);
    await until(
      'every request is logged',
      () => logLines.filter((line) => line.msg === 'request').length >= secrets.requests,
    );
    expectNoSecrets(logLines, secrets, { content: true });
  });
});

describe('keys and content never reach the log (chatwire serve, stdout)', () => {
  let sim: OllamaSimulator;
  let child: Child | undefined;
  beforeAll(async () => {
    sim = await startOllamaSimulator();
  });
  afterAll(async () => {
    child?.process.kill('SIGKILL');
    await sim.close();
  });

  it('at level trace, through a whole run from start to stop', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chatwire-privacy-child-'));
    const storage = await openStorage({ dataDir });
    const limits = { rpm: null, streams: null, tokensPerDay: null };
    const key = (await storage.keys.create({ name: 'user', admin: false, limits })).key;
    const limited = (
      await storage.keys.create({ name: 'limited', admin: false, limits: { ...limits, rpm: 1 } })
    ).key;
    await storage.conversations.close();
    const systemPrompt = canary('system-prompt');
    const persona = personaFile();
    child = await startChild({
      OLLAMA_HOST: sim.url,
      CHATWIRE_DATA_DIR: dataDir,
      CHATWIRE_LOG_LEVEL: 'trace',
      CHATWIRE_SYSTEM_PROMPT: systemPrompt,
      CHATWIRE_CONFIG_FILE: persona.file,
      CHATWIRE_BODY_LIMIT_BYTES: '4096',
    });
    const secrets = await exercise(child.url, sim, key, limited);
    secrets.content.push(systemPrompt, persona.prompt);
    const lines = child.lines;
    await until(
      'every request is logged',
      () => lines.filter((line) => line.msg === 'request').length >= secrets.requests,
    );
    const exited = once(child.process, 'exit');
    child.process.kill('SIGTERM');
    await exited;
    child = undefined;
    expect(lines.some((line) => line.msg === 'stopped')).toBe(true);
    expectNoSecrets(lines, secrets, { content: false });
  }, 30_000);
});

describe('the upstream API key never reaches the log', () => {
  it('neither when the upstream takes it, nor when it refuses it, nor when it cannot be reached', async () => {
    const upstreamKey = `sk-${canary('upstream-key')}`;
    const openAi = await startOpenAiSimulator();
    const logLines: Log = [];
    const chatwire = await startGateway(
      openAi.url,
      {
        CHATWIRE_UPSTREAM_KIND: 'openai',
        CHATWIRE_UPSTREAM_URL: `${openAi.url}/v1`,
        CHATWIRE_UPSTREAM_API_KEY: upstreamKey,
        CHATWIRE_MODEL: 'gpt-4o-mini',
        CHATWIRE_LOG_LEVEL: 'trace',
      },
      { logLines },
    );
    try {
      const chat = () =>
        rawRequest(chatwire.url, 'POST', '/v1/chat', {
          body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
        });
      openAi.behave({ requireApiKey: upstreamKey });
      expect((await chat()).status).toBe(200);
      openAi.behave({ requireApiKey: 'another key' });
      expect((await chat()).status).toBe(401);
      expect((await rawRequest(chatwire.url, 'GET', '/v1/models')).status).toBe(401);
      await openAi.close();
      expect((await chat()).status).toBe(503);
      expect(
        openAi.requests.every((request) => request.headers.authorization === `Bearer ${upstreamKey}`),
      ).toBe(true);
      await until(
        'every request is logged',
        () => logLines.filter((line) => line.msg === 'request').length >= 4,
      );
      expect(JSON.stringify(logLines)).not.toContain(upstreamKey.slice(3));
    } finally {
      await chatwire.close();
      await openAi.close();
    }
  });
});
