import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sumOf } from '../../test/support/prometheus-text.js';
import { loadConfig } from '../config/config.js';
import { GatewayError } from '../contracts/gateway-error.js';
import { ActiveCalls } from '../relay/active-calls.js';
import { newRelayStats, type RelayStats } from '../relay/relay-stats.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import { GatewayMetrics } from './gateway-metrics.js';

const upstream: ChatUpstream = {
  label: 'stub',
  baseUrl: 'http://127.0.0.1:1',
  openChat: () => Promise.reject(new Error('not used')),
  version: async () => 'stub',
  models: async () => [],
  close: async () => {},
};

function metricsFor(env: Record<string, string> = {}): GatewayMetrics {
  const config = loadConfig({ CHATWIRE_ENGINE: 'ollama', CHATWIRE_MODEL: 'llama3.2', ...env });
  return new GatewayMetrics({ config, upstream, activeCalls: new ActiveCalls() });
}

/** What requestDone reads of a Fastify request. */
function request(url: string | undefined, stats: Partial<RelayStats> = {}, method = 'POST'): FastifyRequest {
  return {
    method,
    routeOptions: { url },
    relayStats: { ...newRelayStats(), ...stats },
  } as unknown as FastifyRequest;
}

async function samples(metrics: GatewayMetrics) {
  return parsePrometheusText(await metrics.render());
}

describe('gateway metrics', () => {
  it('keeps each gateway in its own registry: two in one process neither collide nor share counts', async () => {
    const first = metricsFor();
    const second = metricsFor();
    first.requestDone(request('/v1/chat'), 200, 12);
    expect(sumOf(await samples(first), 'chatwire_requests_total')).toBe(1);
    expect(sumOf(await samples(second), 'chatwire_requests_total')).toBe(0);
  });

  it('counts requests by route pattern, method and status; unknown routes and methods as one value each', async () => {
    const metrics = metricsFor();
    metrics.requestDone(request('/v1/chat'), 200, 10);
    metrics.requestDone(request('/v1/chat'), 499, 10);
    metrics.requestDone(request(undefined, {}, 'GET'), 404, 1);
    metrics.requestDone(request(undefined, {}, 'PROPFIND'), 404, 1);
    const all = await samples(metrics);
    const requests = (labels: Record<string, string>) => sumOf(all, 'chatwire_requests_total', labels);
    expect(requests({ route: '/v1/chat', method: 'POST', status: '200' })).toBe(1);
    expect(requests({ route: '/v1/chat', status: '499' })).toBe(1);
    expect(requests({ route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(requests({ route: 'unmatched', method: 'other' })).toBe(1);
  });

  it('observes duration, first token and overhead in seconds, and tokens by bounded model', async () => {
    const metrics = metricsFor();
    const arrived = 1000;
    metrics.requestDone(
      request('/v1/chat', {
        receivedAt: arrived,
        model: 'llama3.2:latest',
        upstream: 'gpu1:11434',
        upstreamCalledAt: arrived + 2,
        ttftMs: 248,
        firstWriteAt: arrived + 251,
        tokens: 7,
        promptTokens: 30,
      }),
      200,
      1500,
    );
    metrics.requestDone(request('/v1/chat', { model: 'invented', tokens: 3, promptTokens: 5 }), 200, 5);
    const all = await samples(metrics);
    const labels = { route: '/v1/chat', model: 'llama3.2', upstream: 'gpu1:11434' };
    expect(sumOf(all, 'chatwire_request_duration_seconds_sum', labels)).toBeCloseTo(1.5);
    expect(sumOf(all, 'chatwire_time_to_first_token_seconds_sum', labels)).toBeCloseTo(0.251);
    expect(sumOf(all, 'chatwire_time_to_first_token_seconds_bucket', { ...labels, le: '0.25' })).toBe(0);
    expect(sumOf(all, 'chatwire_time_to_first_token_seconds_bucket', { ...labels, le: '0.5' })).toBe(1);
    expect(sumOf(all, 'chatwire_gateway_overhead_seconds_sum', { route: '/v1/chat' })).toBeCloseTo(0.003);
    expect(sumOf(all, 'chatwire_completion_tokens_total', { model: 'llama3.2' })).toBe(7);
    expect(sumOf(all, 'chatwire_prompt_tokens_total', { model: 'llama3.2' })).toBe(30);
    expect(sumOf(all, 'chatwire_completion_tokens_total', { model: 'other' })).toBe(3);
    expect(all.some((sample) => Object.values(sample.labels).includes('invented'))).toBe(false);
  });

  it('counts an upstream failure once by host and kind, however many times it is reported; others not at all', async () => {
    const metrics = metricsFor();
    const refused = new GatewayError('upstream_unreachable', 503, 'connection refused');
    metrics.upstreamFailure('gpu1:11434', refused);
    metrics.requestDone(request('/v1/chat', { upstream: 'gpu1:11434', failure: refused }), 503, 3);
    const timeout = new GatewayError('first_token_timeout', 504, 'no first token');
    metrics.requestDone(request('/v1/chat', { upstream: 'gpu2:11434', failure: timeout }), 504, 3);
    const left = new GatewayError('client_closed', 499, 'client left');
    metrics.requestDone(request('/v1/chat', { upstream: 'gpu2:11434', failure: left }), 499, 3);
    const all = await samples(metrics);
    expect(sumOf(all, 'chatwire_upstream_errors_total')).toBe(2);
    expect(
      sumOf(all, 'chatwire_upstream_errors_total', {
        upstream: 'gpu1:11434',
        kind: 'upstream_unreachable',
      }),
    ).toBe(1);
    expect(
      sumOf(all, 'chatwire_upstream_errors_total', { upstream: 'gpu2:11434', kind: 'first_token_timeout' }),
    ).toBe(1);
  });

  it("adds Node's process metrics and says Prometheus' content type", async () => {
    const metrics = metricsFor();
    const all = await samples(metrics);
    expect(all.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(all.some((sample) => sample.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
