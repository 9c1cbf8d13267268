import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import {
  closedPort,
  errorOf,
  postChat,
  type RunningGateway,
  readLines,
  startGateway,
} from '../support/start-gateway.js';

/** Failures before the first token: a true HTTP status and a JSON error body, never a 200. */
describe('upstream failures before the first token', () => {
  let sim: OllamaSimulator;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
    chatwire = await startGateway(sim.url, {
      CHATWIRE_ALLOWED_MODELS: '*',
      CHATWIRE_FIRST_TOKEN_TIMEOUT_MS: '150',
    });
  });
  afterAll(async () => {
    await chatwire.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  it('unknown model: 404 with the upstream message', async () => {
    const response = await postChat(chatwire.url, { model: 'nope:1b' });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: "model 'nope:1b' not found" });
  });

  it.each([
    [400, '"qwen2.5:7b" does not support chat', 400],
    [403, 'remote models are disabled', 403],
    [503, 'server busy, please try again.  maximum pending requests exceeded', 503],
    [500, 'model runner has unexpectedly stopped', 502],
  ])('upstream %i: client gets %s with the message', async (status, error, expected) => {
    sim.behave({ preError: { status, error } });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(expected);
    expect(await response.json()).toEqual({ error });
  });

  it('old Ollama reporting a missing model as a 200 stream with one error line: still a 404', async () => {
    sim.behave({
      preError: { status: 404, error: "model 'x' not found, try pulling it first", legacy: true },
    });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "model 'x' not found, try pulling it first" });
  });

  it('no first token within the first-token timeout: 504, and the upstream request is aborted', async () => {
    sim.behave({ stallBeforeFirstChunk: true });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(504);
    expect(await errorOf(response)).toMatch(/timed out after 150 ms waiting for the first token/);
    expect((await sim.nextAbort()).phase).toBe('load');
  });

  it('headers sent early but no chunk within the first-token timeout: still 504', async () => {
    sim.behave({ headersEarly: true, stallBeforeFirstChunk: true });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(504);
  });

  it('stream:false gets the same statuses', async () => {
    sim.behave({ preError: { status: 503, error: 'server busy' } });
    const response = await postChat(chatwire.url, { stream: false });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'server busy' });
  });
});

describe('upstream unreachable', () => {
  let chatwire: RunningGateway | undefined;
  afterEach(async () => {
    await chatwire?.close();
    chatwire = undefined;
  });

  it('connection refused: 503 naming the upstream and the reason', async () => {
    const port = await closedPort();
    chatwire = await startGateway(`127.0.0.1:${port}`);
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: `cannot connect to Ollama at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });

  it('DNS failure: 503 with the resolver error', async () => {
    const dispatcher = new Agent({
      connect: {
        lookup: (hostname, _options, callback) =>
          callback(
            Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
            '',
            4,
          ),
      },
    });
    chatwire = await startGateway('http://ollama.invalid:11434', {}, { dispatcher });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: 'cannot connect to Ollama at http://ollama.invalid:11434: getaddrinfo ENOTFOUND ollama.invalid',
    });
    await dispatcher.close();
  });

  it('connect timeout: 503 saying it timed out', async () => {
    // A lookup that never answers holds the connection attempt open, as an unroutable host would.
    const dispatcher = new Agent({ connect: { timeout: 100, lookup: () => {} } });
    chatwire = await startGateway('http://ollama.slow:11434', {}, { dispatcher });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toMatch(
      /^cannot connect to Ollama at http:\/\/ollama\.slow:11434: .*timeout/i,
    );
    await dispatcher.close();
  });
});

/** Failures after the first token: the lines already relayed, then exactly one error line, then the end. */
describe('upstream failures after the first token', () => {
  let sim: OllamaSimulator;
  let chatwire: RunningGateway;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
    chatwire = await startGateway(sim.url, {
      CHATWIRE_IDLE_TIMEOUT_MS: '150',
      CHATWIRE_LINE_LIMIT_BYTES: '4096',
    });
  });
  afterAll(async () => {
    await chatwire.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  async function streamUntilFailure(
    midStream: NonNullable<Parameters<OllamaSimulator['behave']>[0]['midStream']>,
  ) {
    sim.behave({ tokens: ['a', 'b', 'c', 'd'], midStream });
    const response = await postChat(chatwire.url);
    expect(response.status).toBe(200);
    const lines = await readLines(response);
    const contents = lines.slice(0, -1).map((line) => (line.message as { content: string }).content);
    return { contents, last: lines.at(-1) as Record<string, unknown> };
  }

  it('in-band error line: relayed lines, then the upstream error', async () => {
    const { contents, last } = await streamUntilFailure({
      afterChunks: 2,
      mode: 'error-line',
      message: 'runner died',
    });
    expect(contents).toEqual(['a', 'b']);
    expect(last).toEqual({ error: 'runner died' });
  });

  it('upstream dies mid-stream: relayed lines, then an error saying the connection was lost', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 2, mode: 'destroy' });
    expect(contents).toEqual(['a', 'b']);
    expect(last.error).toMatch(/^connection to Ollama lost mid-stream/);
    expect(Object.keys(last)).toEqual(['error']);
  });

  it('upstream ends without done: an error line instead of a silent truncation', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 3, mode: 'end-without-done' });
    expect(contents).toEqual(['a', 'b', 'c']);
    expect(last).toEqual({ error: 'Ollama ended the stream without its final done message' });
  });

  it('upstream stalls past the idle timeout: error says it stalled, upstream request aborted', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 1, mode: 'stall' });
    expect(contents).toEqual(['a']);
    expect(last.error).toMatch(/Ollama stalled: no data for 150 ms/);
    expect((await sim.nextAbort()).phase).toBe('stream');
  });

  it('non-JSON line: error line quoting it', async () => {
    const { contents, last } = await streamUntilFailure({ afterChunks: 2, mode: 'garbage-line' });
    expect(contents).toEqual(['a', 'b']);
    expect(last.error).toMatch(/not JSON/);
  });

  it('oversized line: error line naming the limit', async () => {
    const { contents, last } = await streamUntilFailure({
      afterChunks: 1,
      mode: 'oversized-line',
      bytes: 10_000,
    });
    expect(contents).toEqual(['a']);
    expect(last.error).toMatch(/4096-byte line limit/);
  });

  it('stream:false with a mid-stream failure: 502 with the reason, nothing partial', async () => {
    sim.behave({ tokens: ['a', 'b'], midStream: { afterChunks: 1, mode: 'destroy' } });
    const response = await postChat(chatwire.url, { stream: false });
    expect(response.status).toBe(502);
    expect(await errorOf(response)).toMatch(/connection to Ollama lost/);
  });
});

describe('total timeout', () => {
  it('ends a stream that runs past it with an error line', async () => {
    const sim = await startOllamaSimulator();
    const chatwire = await startGateway(sim.url, { CHATWIRE_TOTAL_TIMEOUT_MS: '200' });
    try {
      sim.behave({ tokens: Array.from({ length: 50 }, (_, i) => `t${i}`), tokenDelayMs: 20 });
      const lines = await readLines(await postChat(chatwire.url));
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.length).toBeLessThan(50);
      expect(lines.at(-1)).toEqual({ error: 'total timeout of 200 ms exceeded, request aborted' });
      expect((await sim.nextAbort()).phase).toBe('stream');
    } finally {
      await chatwire.close();
      await sim.close();
    }
  });
});
