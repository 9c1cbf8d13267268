import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, startChild } from '../support/child-gateway.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';
import { until } from '../support/pool-fixture.js';
import { postChat } from '../support/start-gateway.js';

/** chatwire as users run it, with the standard OTEL_* variables pointing at a receiver of the test's own. */
describe('traces over OTLP/HTTP', () => {
  let sim: OllamaSimulator;
  let receiver: OtlpReceiver;
  let child: Child;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
    receiver = await new OtlpReceiver().start();
    child = await startChild({
      OLLAMA_HOST: sim.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'chatwire-under-test',
      // Export at once instead of every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  }, 30_000);
  afterAll(async () => {
    child?.process.kill('SIGKILL');
    await receiver?.close();
    await sim?.close();
  });

  it('one span per request, with the model call as its child: host, model, tokens, time to first token', async () => {
    sim.behave({ tokens: ['Hel', 'lo'], finalMetrics: { eval_count: 2, prompt_eval_count: 7 } });
    const response = await postChat(child.url, { messages: [{ role: 'user', content: 'secret question' }] });
    expect(response.status).toBe(200);
    await response.text();
    await until('both spans arrived', () => receiver.spans.length >= 2, 10_000);
    const server = receiver.spans.find((span) => span.name === 'POST /v1/chat');
    const call = receiver.spans.find((span) => span.name === 'chat qwen2.5:7b');
    expect(server).toMatchObject({
      service: 'chatwire-under-test',
      parentSpanId: '',
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/v1/chat',
        'http.response.status_code': 200,
      },
    });
    expect(call).toMatchObject({
      traceId: server?.traceId,
      parentSpanId: server?.spanId,
      attributes: {
        'gen_ai.request.model': 'qwen2.5:7b',
        'chatwire.upstream': `127.0.0.1:${sim.port}`,
        'gen_ai.usage.output_tokens': 2,
        'gen_ai.usage.input_tokens': 7,
      },
    });
    expect(call?.attributes['chatwire.time_to_first_token_ms']).toBeGreaterThan(0);
    expect((call as NonNullable<typeof call>).startNs).toBeGreaterThanOrEqual(
      (server as NonNullable<typeof server>).startNs,
    );
    expect(JSON.stringify(receiver.spans, (_, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(
      'secret question',
    );
  });

  it('marks a request that failed before the first token, with the error kind', async () => {
    sim.behave({ preError: { status: 404, error: "model 'qwen2.5:7b' not found" } });
    const before = receiver.spans.length;
    expect((await postChat(child.url)).status).toBe(404);
    await until('the spans arrived', () => receiver.spans.length >= before + 2, 10_000);
    const call = receiver.spans.slice(before).find((span) => span.name.startsWith('chat '));
    expect(call?.status.code).toBe(2);
    expect(call?.attributes['error.type']).toBe('upstream_http_error');
  });
});
