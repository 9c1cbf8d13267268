import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type OpenAiSimBehaviour,
  type OpenAiSimulator,
  startOpenAiSimulator,
} from '../support/openai-simulator.js';
import {
  closedPort,
  errorOf,
  postChat,
  type RunningGateway,
  readLines,
  startGateway,
} from '../support/start-gateway.js';

const API_KEY = 'sk-test-123';

/** The gateway over an OpenAI-compatible upstream, configured as a user would. */
function startOverOpenAi(upstreamUrl: string, env: Record<string, string> = {}): Promise<RunningGateway> {
  return startGateway(upstreamUrl, {
    CHATWIRE_UPSTREAM_KIND: 'openai',
    CHATWIRE_UPSTREAM_URL: upstreamUrl,
    CHATWIRE_UPSTREAM_API_KEY: API_KEY,
    CHATWIRE_MODEL: 'gpt-4o-mini',
    CHATWIRE_ALLOWED_MODELS: '*',
    ...env,
  });
}

const contentsOf = (lines: Array<Record<string, unknown>>) =>
  lines.map((line) => (line.message as { content: string } | undefined)?.content);

describe('POST /v1/chat over an OpenAI-compatible upstream', () => {
  let sim: OpenAiSimulator;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    sim = await startOpenAiSimulator();
    chatwire = await startOverOpenAi(`${sim.url}/v1`, {
      CHATWIRE_SYSTEM_PROMPT: 'You are terse.',
      CHATWIRE_TEMPERATURE: '0.3',
      CHATWIRE_MAX_TOKENS: '128',
    });
  });
  afterAll(async () => {
    await chatwire.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  it('streams the answer as Ollama NDJSON, ending with done and the token counts', async () => {
    sim.behave({ tokens: ['Hel', 'lo', ' wor', 'ld'], usage: { prompt_tokens: 26, completion_tokens: 4 } });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = await readLines(response);
    expect(contentsOf(lines)).toEqual(['Hel', 'lo', ' wor', 'ld', '']);
    expect(lines.slice(0, -1).every((line) => line.done === false && line.model === 'gpt-4o-mini')).toBe(
      true,
    );
    expect(lines.at(-1)).toMatchObject({
      model: 'gpt-4o-mini',
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 26,
      eval_count: 4,
    });
  });

  it('sends the persona in OpenAI form: system prompt, model, temperature, max_tokens, streamed with usage', async () => {
    await (await postChat(chatwire.url)).text();
    const upstream = sim.requests[0];
    expect(upstream?.method).toBe('POST');
    expect(upstream?.path).toBe('/v1/chat/completions');
    expect(upstream?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      max_tokens: 128,
    });
  });

  it('sends the API key as a bearer token', async () => {
    sim.behave({ requireApiKey: API_KEY });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(200);
    await response.text();
    expect(sim.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('stream:false: one object with the whole message and the counts', async () => {
    sim.behave({ tokens: ['Hel', 'lo'], usage: { prompt_tokens: 9, completion_tokens: 2 } });
    const response = await postChat(chatwire.url, { stream: false });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      model: 'gpt-4o-mini',
      message: { role: 'assistant', content: 'Hello' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 9,
      eval_count: 2,
    });
  });

  it('finish_reason length becomes done_reason length', async () => {
    sim.behave({ tokens: ['a'], finishReason: 'length' });
    const lines = await readLines(await postChat(chatwire.url));
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'length' });
  });

  it('tool-call fragments become one line with whole calls and parsed arguments', async () => {
    sim.behave({
      tokens: [],
      toolCalls: [
        { id: 'call_weather', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
        { id: 'call_time', name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
      ],
    });
    const lines = await readLines(await postChat(chatwire.url));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      done: false,
      message: {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: 'call_weather',
            function: { index: 0, name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
          },
          { id: 'call_time', function: { index: 1, name: 'get_time', arguments: { zone: 'Europe/Paris' } } },
        ],
      },
    });
    expect(lines[1]).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('tool calls with stream:false are in the message', async () => {
    sim.behave({ tokens: [], toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const body = (await (await postChat(chatwire.url, { stream: false })).json()) as Record<string, unknown>;
    expect(body.message).toMatchObject({
      tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
    });
  });

  it('reasoning becomes message.thinking', async () => {
    sim.behave({ reasoning: ['Let me ', 'think.'], tokens: ['Yes'] });
    const lines = await readLines(await postChat(chatwire.url));
    expect(lines.slice(0, 3).map((line) => line.message)).toEqual([
      { role: 'assistant', content: '', thinking: 'Let me ' },
      { role: 'assistant', content: '', thinking: 'think.' },
      { role: 'assistant', content: 'Yes' },
    ]);
    const collected = (await (await postChat(chatwire.url, { stream: false })).json()) as Record<
      string,
      unknown
    >;
    expect(collected.message).toMatchObject({ content: 'Yes', thinking: 'Let me think.' });
  });

  it.each([
    ['split writes with CRLF, cut inside multibyte characters', { writeMode: 'split', lineEnding: 'crlf' }],
    ['everything in one read', { writeMode: 'coalesced' }],
    ['keep-alive comments between events', { keepAliveComments: true }],
  ] as Array<[string, OpenAiSimBehaviour]>)('reads the same content with %s', async (_name, behaviour) => {
    const tokens = ['héllo', ' 日本', ' 🙂', ' <b>&'];
    sim.behave({ ...behaviour, tokens });
    const lines = await readLines(await postChat(chatwire.url));
    expect(contentsOf(lines)).toEqual([...tokens, '']);
    expect(lines.at(-1)).toMatchObject({ done: true });
  });

  it('the upstream is ready when /models answers', async () => {
    const response = await fetch(`${chatwire.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      upstream: `${sim.url}/v1`,
      version: 'OpenAI-compatible (2 models)',
    });
  });
});

/** Failures before the first token: a true HTTP status and a JSON error body, never a 200. */
describe('OpenAI-compatible upstream failures before the first token', () => {
  let sim: OpenAiSimulator;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    sim = await startOpenAiSimulator();
    chatwire = await startOverOpenAi(`${sim.url}/v1`, { CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: '150' });
  });
  afterAll(async () => {
    await chatwire.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  it('wrong API key: 401 with the upstream message', async () => {
    sim.behave({ requireApiKey: 'sk-other' });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'Incorrect API key provided' });
  });

  it('wrong API key: not ready, with the reason', async () => {
    sim.behave({ requireApiKey: 'sk-other' });
    const response = await fetch(`${chatwire.url}/ready`);
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toBe('Incorrect API key provided');
  });

  it('unknown model: 404 with the upstream message', async () => {
    const response = await postChat(chatwire.url, { model: 'nope' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'The model `nope` does not exist' });
  });

  it.each([
    [429, 'Rate limit reached', 429],
    [503, 'The engine is currently overloaded, please try again later', 503],
    [500, 'The server had an error while processing your request', 502],
  ])('upstream %i: client gets %i with the message', async (status, message, expected) => {
    sim.behave({ preError: { status, message } });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(expected);
    expect(await response.json()).toEqual({ error: message });
  });

  it('stream:false gets the same statuses', async () => {
    sim.behave({ preError: { status: 503, message: 'overloaded' } });
    const response = await postChat(chatwire.url, { stream: false });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'overloaded' });
  });

  it('headers sent at once, then nothing: still 504, and the upstream request is aborted', async () => {
    sim.behave({ stallBeforeFirstChunk: true });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(504);
    expect(await errorOf(response)).toBe(
      `timed out after 150 ms waiting for the first token from OpenAI-compatible upstream at ${sim.url}/v1`,
    );
    expect((await sim.nextAbort()).phase).toBe('load');
  });

  it('a role-only chunk and keep-alive comments are not a first token: still 504', async () => {
    sim.behave({ keepAliveComments: true, midStream: { afterChunks: 1, mode: 'stall' } });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(504);
    expect(await errorOf(response)).toMatch(/waiting for the first token/);
  });

  it('an in-band error before any token: a status and a JSON body, not a 200', async () => {
    sim.behave({ midStream: { afterChunks: 1, mode: 'error-event', message: 'KV cache full' } });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: 'KV cache full' });
  });
});

describe('OpenAI-compatible upstream unreachable', () => {
  let chatwire: RunningGateway | undefined;
  afterEach(async () => {
    await chatwire?.close();
    chatwire = undefined;
  });

  it('connection refused: 503 naming the upstream and the reason', async () => {
    const port = await closedPort();
    chatwire = await startOverOpenAi(`http://127.0.0.1:${port}/v1`);
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: `cannot connect to OpenAI-compatible upstream at http://127.0.0.1:${port}/v1: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });
});

/** Failures after the first token: the lines already relayed, then exactly one error line, then the end. */
describe('OpenAI-compatible upstream failures after the first token', () => {
  let sim: OpenAiSimulator;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    sim = await startOpenAiSimulator();
    chatwire = await startOverOpenAi(`${sim.url}/v1`, { CHATWIRE_IDLE_TIMEOUT_MS: '150' });
  });
  afterAll(async () => {
    await chatwire.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  /** `afterChunks` counts the role chunk, as the simulator does: 3 means two tokens went out. */
  async function streamUntilFailure(midStream: NonNullable<OpenAiSimBehaviour['midStream']>) {
    sim.behave({ tokens: ['a', 'b', 'c', 'd'], midStream });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(200);
    const lines = await readLines(response);
    return { contents: contentsOf(lines.slice(0, -1)), last: lines.at(-1) as Record<string, unknown> };
  }

  it('in-band error event: relayed lines, then the upstream error', async () => {
    const { contents, last } = await streamUntilFailure({
      afterChunks: 3,
      mode: 'error-event',
      message: 'runner died',
    });
    expect(contents).toEqual(['a', 'b']);
    expect(last).toEqual({ error: 'runner died' });
  });

  it('upstream dies mid-stream: relayed lines, then an error saying the connection was lost', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 3, mode: 'destroy' });
    expect(contents).toEqual(['a', 'b']);
    expect(last.error).toMatch(/^connection to OpenAI-compatible upstream lost mid-stream: /);
    expect(Object.keys(last)).toEqual(['error']);
  });

  it('body ends without a finish reason or [DONE]: an error line instead of a silent truncation', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 4, mode: 'end-without-done' });
    expect(contents).toEqual(['a', 'b', 'c']);
    expect(last).toEqual({ error: 'OpenAI-compatible upstream ended the stream without a finish_reason' });
  });

  it('data that is not JSON: an error line quoting it', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 3, mode: 'garbage' });
    expect(contents).toEqual(['a', 'b']);
    expect(last).toEqual({ error: 'OpenAI-compatible upstream sent an event that is not JSON: "not json"' });
  });

  it('upstream stalls past the idle timeout: error says it stalled, upstream request aborted', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 2, mode: 'stall' });
    expect(contents).toEqual(['a']);
    expect(last.error).toMatch(/OpenAI-compatible upstream stalled: no data for 150 ms/);
    expect((await sim.nextAbort()).phase).toBe('stream');
  });

  it('stream:false with a mid-stream failure: 502 with the reason, nothing partial', async () => {
    sim.behave({ tokens: ['a', 'b'], midStream: { afterChunks: 2, mode: 'destroy' } });
    const response = await postChat(chatwire.url, { stream: false });
    expect(response.status).toBe(502);
    expect(await errorOf(response)).toMatch(/connection to OpenAI-compatible upstream lost/);
  });
});
