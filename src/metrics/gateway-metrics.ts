import type { FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { type GatewayErrorCode, isGatewayError } from '../contracts/gateway-error.js';
import type { ActiveCalls } from '../relay/active-calls.js';
import type { RelayStats } from '../relay/relay-stats.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import { UpstreamPool } from '../upstream/pool/upstream-pool.js';
import { LATENCY_BUCKETS_SECONDS, OVERHEAD_BUCKETS_SECONDS } from './latency-buckets.js';
import { ModelLabels } from './model-labels.js';
import { gatewayOverheadMs, timeToFirstTokenMs } from './request-timings.js';
import { registerUpstreamGauges } from './upstream-gauges.js';

/** The `route` label of a request no route matched (a 404), whatever its path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Methods outside this set are `other`: the label never takes a value the client made up. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Failures of a host that end a request: counted once each, whether the pool or the relay saw them. */
const UPSTREAM_FAILURES = new Set<GatewayErrorCode>([
  'upstream_unreachable',
  'upstream_http_error',
  'upstream_protocol_error',
  'upstream_stream_error',
  'first_token_timeout',
  'idle_timeout',
  'total_timeout',
]);

/** A single host is asked for its catalogue at scrape time at most this often. */
const CATALOGUE_MS = 30_000;
const CATALOGUE_TIMEOUT_MS = 2_000;

/** Tokens by model and by API key name (`""` with auth off): key names are the operator's, so bounded. */
const TOKEN_LABELS = ['model', 'key'] as const;
type TokenLabels = Record<(typeof TOKEN_LABELS)[number], string>;

function tokenLabels(request: FastifyRequest, model: string): TokenLabels {
  return { model, key: request.apiKey?.name ?? '' };
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (never prom-client's global one), so several
 * gateways in one process keep theirs apart. A request is recorded once, when its connection is done with
 * it; gauges of current state are read at scrape time. Label values come only from bounded sets: route
 * patterns, configured host names, GatewayError codes, and models the configuration or a catalogue names.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly models: ModelLabels;
  private readonly counted = new WeakSet<object>();
  private readonly pool: UpstreamPool | undefined;
  private catalogueReadAt = Number.NEGATIVE_INFINITY;
  private catalogueReading: Promise<void> | undefined;
  private processMetrics = false;

  private readonly requests = new Counter({
    name: 'chatwire_requests_total',
    help: 'Requests by route pattern, method and status (499: the client left first).',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'chatwire_request_duration_seconds',
    help: 'From the request arriving to its connection being done with it, streams included.',
    labelNames: ['route', 'model', 'upstream'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private readonly firstToken = new Histogram({
    name: 'chatwire_time_to_first_token_seconds',
    help: 'From the request arriving to the first token written to the client (collected replies: to the first upstream chunk).',
    labelNames: ['route', 'model', 'upstream'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private readonly overhead = new Histogram({
    name: 'chatwire_gateway_overhead_seconds',
    help: "chatwire's own part of the time to first token: arrival to the upstream call, plus first upstream chunk to its write.",
    labelNames: ['route'] as const,
    buckets: OVERHEAD_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private readonly promptTokens = new Counter({
    name: 'chatwire_prompt_tokens_total',
    help: 'Prompt tokens of completed replies, as the upstream counted them.',
    labelNames: TOKEN_LABELS,
    registers: [this.registry],
  });
  private readonly completionTokens = new Counter({
    name: 'chatwire_completion_tokens_total',
    help: 'Completion tokens of completed replies, as the upstream counted them.',
    labelNames: TOKEN_LABELS,
    registers: [this.registry],
  });
  private readonly limitRejections = new Counter({
    name: 'chatwire_limit_rejections_total',
    help: 'Requests refused with 429 by a limit, by API key name and kind (rpm, streams, tokens, global).',
    labelNames: ['key', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly redisFailures = new Counter({
    name: 'chatwire_redis_failures_total',
    help: 'Limit checks that could not reach Redis (REDIS_URL), served or refused per CHATWIRE_REDIS_FAILURE.',
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'chatwire_upstream_errors_total',
    help: 'Failures of an upstream host by kind (the error code), retried ones included.',
    labelNames: ['upstream', 'kind'] as const,
    registers: [this.registry],
  });

  constructor(deps: { config: Config; upstream: ChatUpstream; activeCalls: ActiveCalls }) {
    const { config, upstream, activeCalls } = deps;
    this.pool = upstream instanceof UpstreamPool ? upstream : undefined;
    const pool = this.pool;
    const configured = [
      config.persona.model,
      ...config.personas.map((persona) => persona.model),
      ...(config.allowedModels === '*' ? [] : config.allowedModels),
    ];
    this.models = new ModelLabels(
      configured,
      pool?.isPool ? () => pool.hosts.flatMap((host) => host.modelNames) : undefined,
    );
    new Gauge({
      name: 'chatwire_active_streams',
      help: 'Upstream chat streams in flight (streamed and collected replies alike).',
      registers: [this.registry],
      collect() {
        this.set(activeCalls.size);
      },
    });
    if (pool !== undefined) {
      registerUpstreamGauges(this.registry, pool);
      pool.observeFailures((host, error) => this.upstreamFailure(host, error));
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One request, once its connection is done with it: one counter and a few histogram observations. */
  requestDone(request: FastifyRequest, status: number, durationMs: number): void {
    const stats: RelayStats = request.relayStats;
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const method = METHODS.has(request.method) ? request.method : 'other';
    this.requests.inc({ route, method, status: String(status) });
    const model = this.models.label(stats.model);
    const upstream = stats.upstream ?? '';
    this.duration.observe({ route, model, upstream }, durationMs / 1000);
    const ttftMs = timeToFirstTokenMs(stats);
    if (ttftMs !== undefined) {
      this.firstToken.observe({ route, model, upstream }, ttftMs / 1000);
      const overheadMs = gatewayOverheadMs(stats);
      if (overheadMs !== undefined) this.overhead.observe({ route }, overheadMs / 1000);
    }
    // An upstream's own count, checked: prom-client throws on a value that is not a finite number ≥ 0.
    const prompt = countOf(stats.promptTokens);
    const completion = countOf(stats.tokens);
    if (prompt !== undefined || completion !== undefined) {
      const labels = tokenLabels(request, model);
      if (prompt !== undefined) this.promptTokens.inc(labels, prompt);
      if (completion !== undefined) this.completionTokens.inc(labels, completion);
    }
    if (stats.failure !== undefined && stats.upstream !== undefined)
      this.upstreamFailure(stats.upstream, stats.failure);
  }

  /**
   * A host's failure, from the pool (each attempt, retried or not) or from the request's end (timeouts, and
   * what a single host's stream ended with); the same error object counts once.
   */
  limitRejected(key: string, kind: string): void {
    this.limitRejections.inc({ key, kind });
  }

  redisFailed(): void {
    this.redisFailures.inc();
  }

  upstreamFailure(host: string, error: unknown): void {
    if (!isGatewayError(error) || !UPSTREAM_FAILURES.has(error.code) || this.counted.has(error)) return;
    this.counted.add(error);
    this.upstreamErrors.inc({ upstream: host, kind: error.code });
  }

  /** The text exposition; a single host's catalogue is read first (now and then), for the model label. */
  async render(): Promise<string> {
    if (!this.processMetrics) {
      // Node's process metrics start with the first scrape: they keep an event-loop monitor and a GC
      // observer running for good, which a gateway nobody scrapes (most of a test run's) should not leave.
      this.processMetrics = true;
      collectDefaultMetrics({ register: this.registry });
    }
    if (this.pool?.isPool) this.models.sync();
    else if (this.pool !== undefined) await this.readCatalogue(this.pool);
    return this.registry.metrics();
  }

  private readCatalogue(pool: UpstreamPool): Promise<void> {
    if (performance.now() - this.catalogueReadAt < CATALOGUE_MS) return Promise.resolve();
    this.catalogueReading ??= pool
      .models(AbortSignal.timeout(CATALOGUE_TIMEOUT_MS))
      .then(
        (models) => this.models.add(models.map((model) => model.id)),
        // A host that does not answer is asked again next time round, not at every scrape.
        () => {},
      )
      .finally(() => {
        this.catalogueReadAt = performance.now();
        this.catalogueReading = undefined;
      });
    return this.catalogueReading;
  }
}

function countOf(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}
