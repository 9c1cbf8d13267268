import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { postChat, type RunningGateway, readLines, startGateway } from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway | undefined;

beforeAll(async () => {
  sim = await startOllamaSimulator();
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await chatwire?.close();
  chatwire = undefined;
  sim.reset();
});

const secret = 'my bank password is hunter2';

function requestLines(lines: Array<Record<string, unknown>>) {
  return lines.filter((line) => line.msg === 'request');
}

describe('request log', () => {
  it('writes one line per request with status, time to first token and tokens, and no content', async () => {
    const logLines: Array<Record<string, unknown>> = [];
    chatwire = await startGateway(sim.url, {}, { logLines });
    sim.behave({ tokens: ['a', 'b', 'c'], finalMetrics: { eval_count: 3 } });
    const response = await postChat(chatwire.url, { messages: [{ role: 'user', content: secret }] });
    await readLines(response);
    await vi.waitFor(() => expect(requestLines(logLines)).toHaveLength(1));
    expect(requestLines(logLines)[0]).toMatchObject({
      reqId: response.headers.get('x-request-id'),
      method: 'POST',
      url: '/v1/chat',
      status: 200,
      tokens: 3,
      ttftMs: expect.any(Number),
      durationMs: expect.any(Number),
    });
    expect(JSON.stringify(logLines)).not.toContain('hunter2');
  });

  it('records a failed stream with its error, and a client that left as 499', async () => {
    const logLines: Array<Record<string, unknown>> = [];
    chatwire = await startGateway(sim.url, {}, { logLines });
    sim.behave({ preError: { status: 404, error: "model 'x' not found" } });
    await (await postChat(chatwire.url)).text();
    sim.behave({ loadDelayMs: 30_000 });
    const controller = new AbortController();
    const pending = postChat(chatwire.url, undefined, { signal: controller.signal }).catch(() => undefined);
    await sim.nextRequest();
    await sim.nextRequest();
    controller.abort();
    await pending;
    await vi.waitFor(() => expect(requestLines(logLines)).toHaveLength(2));
    const [notFound, left] = requestLines(logLines);
    expect(notFound).toMatchObject({ status: 404, error: "model 'x' not found" });
    expect(left).toMatchObject({ status: 499, error: 'client closed the connection' });
  });

  it('logs message content only when CHATWIRE_LOG_CONTENT=true', async () => {
    const logLines: Array<Record<string, unknown>> = [];
    chatwire = await startGateway(sim.url, { CHATWIRE_LOG_CONTENT: 'true' }, { logLines });
    await (await postChat(chatwire.url, { messages: [{ role: 'user', content: secret }] })).text();
    expect(JSON.stringify(logLines)).toContain('hunter2');
  });
});
