import type { Dispatcher } from 'undici';
import type { PoolConfig } from '../../config/upstreams-config.js';
import type { ChunkBatch } from '../../contracts/chat-chunk.js';
import type { ChatRequest } from '../../contracts/chat-request.js';
import { GatewayError, isGatewayError } from '../../contracts/gateway-error.js';
import type { ChatUpstream, NativeAnswer, RouteNote, UpstreamModel } from '../chat-upstream.js';
import { OllamaUpstream } from '../ollama/ollama-upstream.js';
import { OpenAiUpstream } from '../openai/openai-upstream.js';
import { classifyFailure } from './classify-failure.js';
import { LeasedStream } from './leased-stream.js';
import { canonicalModel, PoolHost } from './pool-host.js';
import { BLOCK_CHARS, CHARS_PER_TOKEN, conversationKey, PrefixHasher } from './prefix-blocks.js';
import { PATIENCE_STEPS_MS, type Placement, Router } from './router.js';
import { WaitQueue } from './wait-queue.js';

export interface PoolOptions {
  pool: PoolConfig;
  /** The first ejection's length (CHATWIRE_EJECT_MS); later ones are multiples of it. */
  ejectMs: number;
  connections: number;
  connectTimeoutMs: number;
  lineLimitBytes: number;
  dispatcher?: Dispatcher;
  logger?: PoolLogger;
}

/** Told of each failure of a host that the pool sees (for metrics): before the first token or mid-stream. */
export type FailureObserver = (host: string, error: unknown) => void;

export interface PoolLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What `GET /v1/upstreams` says of each host. */
export interface HostStatus {
  name: string;
  kind: 'ollama' | 'openai';
  url: string;
  state: 'healthy' | 'ejected' | 'probing';
  models: string[];
  loadedModels: string[];
  inFlight: number;
  maxStreams: number | null;
  queued: number;
  ejections: number;
  lastError: string | null;
}

/**
 * Several model servers as one upstream. Each chat request goes to one eligible host (healthy, serving
 * the model, with room) that the router picks for its cached prefix and warm model; when all are full it
 * waits its turn. A failure before the first token is retried on another host, never the same one twice;
 * once a token has been relayed, never. A pool of one host (OLLAMA_HOST alone) relays straight to it, as
 * chatwire did before pools.
 */
export class UpstreamPool implements ChatUpstream {
  readonly label: string;
  readonly baseUrl: string;
  readonly hosts: PoolHost[];
  readonly native?: ChatUpstream['native'];
  private readonly router = new Router();
  private readonly queue: WaitQueue<Placement>;
  private readonly single: boolean;
  private readonly allOllama: boolean;
  private readonly timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> | undefined;
  private failureObserver: FailureObserver | undefined;

  constructor(private readonly options: PoolOptions) {
    const { pool } = options;
    this.hosts = pool.hosts.map((config) => {
      const common = {
        baseUrl: config.url,
        connections: options.connections,
        connectTimeoutMs: options.connectTimeoutMs,
        lineLimitBytes: options.lineLimitBytes,
        dispatcher: options.dispatcher,
      };
      const upstream =
        config.kind === 'ollama'
          ? new OllamaUpstream(common)
          : new OpenAiUpstream({ ...common, apiKey: config.apiKey });
      return new PoolHost(config, upstream, { ejectAfter: pool.ejectAfter, ejectMs: options.ejectMs });
    });
    const first = this.hosts[0];
    if (first === undefined) throw new Error('an upstream pool needs at least one host');
    this.single = pool.single && this.hosts.length === 1;
    this.label = this.single ? first.upstream.label : 'upstream pool';
    this.baseUrl = this.single ? first.upstream.baseUrl : this.hosts.map((host) => host.name).join(', ');
    this.allOllama = this.hosts.every((host) => host.config.kind === 'ollama');
    this.queue = new WaitQueue(pool.maxQueue, pool.queueTimeoutMs, PATIENCE_STEPS_MS);
    if (this.hosts.some((host) => host.upstream.native !== undefined)) {
      this.native = (method, path, body, signal) => this.askNative(method, path, body, signal);
    }
    if (!this.single) {
      this.every(pool.catalogRefreshMs, () => this.refreshCatalogs());
      this.every(pool.healthIntervalMs, () => this.checkHealth());
      void this.refreshCatalogs();
    }
  }

  async openChat(
    request: ChatRequest,
    signal: AbortSignal,
    note?: RouteNote,
  ): Promise<AsyncIterable<ChunkBatch>> {
    if (this.single) return this.openOnOnlyHost(request, signal, note);
    const model = this.routeModel(request.model);
    const hasher = new PrefixHasher().pushMessages(request.messages);
    const route = {
      model,
      blocks: hasher.blocks(),
      affinityKey: request.routingKey ?? conversationKey(request.messages),
    };
    const tried = new Set<PoolHost>();
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.options.pool.retries; attempt++) {
      const placement = await this.place(request.model, route, tried, signal, note, lastError);
      const host = this.hostOf(placement);
      tried.add(host);
      if (note !== undefined) {
        note.upstream = host.name;
        note.queuedMs ??= 0;
        note.cachedPrefixTokens = Math.round((placement.cachedBlocks * BLOCK_CHARS) / CHARS_PER_TOKEN);
      }
      let iterator: AsyncIterator<ChunkBatch> | undefined;
      try {
        iterator = (await host.upstream.openChat(request, signal))[Symbol.asyncIterator]();
        // The first batch is awaited here, so that a host failing before it can still be replaced.
        const first = await iterator.next();
        if (first.done) throw new GatewayError('upstream_protocol_error', 502, `${host.name} sent no chunks`);
        host.health.succeeded();
        return new LeasedStream(iterator, first.value, (reply, cut) => {
          if (cut !== undefined && !signal.aborted) {
            this.failureObserver?.(host.name, cut);
            if (classifyFailure(cut).hostFault) this.recordFailure(host, cut);
          }
          if (reply === undefined) {
            placement.finish(performance.now());
          } else {
            hasher.pushReplyStart();
            hasher.push(reply);
            placement.finish(performance.now(), hasher.blocks());
          }
          this.queue.wake();
        });
      } catch (error) {
        placement.finish(performance.now());
        this.queue.wake();
        void iterator?.return?.()?.catch(() => {});
        if (signal.aborted) throw error;
        this.failureObserver?.(host.name, error);
        const failure = classifyFailure(error);
        if (failure.hostFault) this.recordFailure(host, error);
        if (failure.modelMissing) {
          host.forget(request.model);
          void this.refreshCatalogs();
        }
        if (!failure.retry) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  async version(signal: AbortSignal): Promise<string> {
    const host = this.hosts.find((candidate) => candidate.health.state === 'healthy') ?? this.hosts[0];
    return (host as PoolHost).upstream.version(signal);
  }

  /** Every model some healthy host serves, once each (the first host to list it describes it). */
  async models(signal: AbortSignal): Promise<UpstreamModel[]> {
    if (this.single) return (this.hosts[0] as PoolHost).upstream.models(signal);
    const healthy = this.hosts.filter((host) => host.health.state === 'healthy');
    const answers = await Promise.allSettled(healthy.map((host) => host.upstream.models(signal)));
    const seen = new Map<string, UpstreamModel>();
    for (const answer of answers) {
      if (answer.status !== 'fulfilled') continue;
      for (const model of answer.value) if (!seen.has(model.id)) seen.set(model.id, model);
    }
    const failure = answers.find((answer) => answer.status === 'rejected');
    if (seen.size === 0 && failure !== undefined) throw (failure as PromiseRejectedResult).reason;
    return [...seen.values()];
  }

  status(): HostStatus[] {
    return this.hosts.map((host) => ({
      name: host.name,
      kind: host.config.kind,
      url: host.config.url,
      state: host.health.state,
      models: host.modelNames,
      loadedModels: host.loadedModels,
      inFlight: host.routed.inFlight,
      maxStreams: Number.isFinite(host.config.maxStreams) ? host.config.maxStreams : null,
      queued: this.queue.length,
      ejections: host.health.ejections,
      lastError: host.health.lastError,
    }));
  }

  /** Requests waiting for a host with room. */
  get queueLength(): number {
    return this.queue.length;
  }

  /** One observer (the gateway's metrics) of the failures of its hosts. */
  observeFailures(observer: FailureObserver): void {
    this.failureObserver = observer;
  }

  /** The healthy hosts that answer a probe now: what readiness means for a pool. */
  async answeringHosts(signal: AbortSignal): Promise<string[]> {
    const healthy = this.hosts.filter((host) => host.health.state === 'healthy');
    const answers = await Promise.all(
      healthy.map(async (host) => {
        try {
          await host.upstream.version(signal);
          return host.name;
        } catch (error) {
          host.health.lastError = messageOf(error);
          return undefined;
        }
      }),
    );
    return answers.filter((name): name is string => name !== undefined);
  }

  /** Several hosts routed over, rather than one relayed to directly. */
  get isPool(): boolean {
    return !this.single;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.hosts.map((host) => host.upstream.close()));
  }

  private async openOnOnlyHost(
    request: ChatRequest,
    signal: AbortSignal,
    note: RouteNote | undefined,
  ): Promise<AsyncIterable<ChunkBatch>> {
    const host = this.hosts[0] as PoolHost;
    if (note !== undefined) note.upstream = host.name;
    try {
      return await host.upstream.openChat(request, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      this.failureObserver?.(host.name, error);
      if (classifyFailure(error).hostFault) host.health.lastError = messageOf(error);
      throw error;
    }
  }

  /** A host with room for the request, waiting for one if all are full. */
  private async place(
    model: string,
    route: { model: string; blocks: Uint32Array; affinityKey: string | undefined },
    tried: Set<PoolHost>,
    signal: AbortSignal,
    note: RouteNote | undefined,
    lastError: unknown,
  ): Promise<Placement> {
    let candidates = this.eligible(model, tried);
    if (candidates.length === 0 && tried.size === 0) {
      // Perhaps the model was pulled since the catalogues were read.
      await this.refreshCatalogs();
      candidates = this.eligible(model, tried);
    }
    if (candidates.length === 0) {
      if (lastError !== undefined) throw lastError;
      throw this.noHostFor(model);
    }
    const take = (waitedMs: number) =>
      this.router.route(this.eligible(model, tried), route, performance.now(), waitedMs);
    // With the line full, a request takes any room there is rather than none.
    const placed = take(this.queue.length >= this.options.pool.maxQueue ? Number.POSITIVE_INFINITY : 0);
    if (placed !== undefined) return placed;
    const queuedAt = performance.now();
    try {
      return await this.queue.wait(take, signal, () => {
        const names = candidates.map((host) => host.name).join(', ');
        return `every upstream host serving '${model}' (${names}) is at its stream limit`;
      });
    } finally {
      if (note !== undefined) note.queuedMs = (note.queuedMs ?? 0) + (performance.now() - queuedAt);
    }
  }

  private eligible(model: string, tried: Set<PoolHost>): PoolHost['routed'][] {
    const hosts: PoolHost['routed'][] = [];
    for (const host of this.hosts) {
      if (host.health.state === 'healthy' && !tried.has(host) && host.serves(model)) hosts.push(host.routed);
    }
    return hosts;
  }

  private hostOf(placement: Placement): PoolHost {
    return this.hosts.find((host) => host.routed === placement.host) as PoolHost;
  }

  private noHostFor(model: string): GatewayError {
    const healthy = this.hosts.filter((host) => host.health.state === 'healthy').map((host) => host.name);
    return new GatewayError(
      'not_found',
      404,
      `model '${model}' not found on any upstream host (${healthy.join(', ') || 'none healthy'}); pull it on one, e.g. ollama pull ${model}`,
      { param: 'model' },
    );
  }

  private routeModel(model: string): string {
    return this.allOllama ? canonicalModel('ollama', model) : model;
  }

  private recordFailure(host: PoolHost, error: unknown): void {
    const message = messageOf(error);
    if (!host.health.failed(message)) return;
    if (!this.canEject(host)) return;
    host.health.eject(performance.now());
    this.options.logger?.warn(
      { upstream: host.name, ejections: host.health.ejections, error: message },
      `upstream ${host.name} ejected after ${host.health.consecutiveFailures} consecutive failures`,
    );
  }

  /** Never the last healthy host: with nowhere else to go, the requests are better tried there. */
  private canEject(host: PoolHost): boolean {
    return this.hosts.some((other) => other !== host && other.health.state === 'healthy');
  }

  private async checkHealth(): Promise<void> {
    const now = performance.now();
    await Promise.all(
      this.hosts.map(async (host) => {
        const { health } = host;
        if (health.state === 'healthy') {
          const error = await this.probe(host);
          if (error === undefined) health.succeeded();
          else this.recordFailure(host, error);
        } else if (health.dueForProbe(now)) {
          health.startProbe();
          const error = await this.probe(host);
          if (error !== undefined) {
            health.probeFailed(messageOf(error), performance.now());
            return;
          }
          health.probeSucceeded();
          this.options.logger?.info(
            { upstream: host.name },
            `upstream ${host.name} readmitted after a good probe`,
          );
          await this.refreshHost(host);
          this.queue.wake();
        }
      }),
    );
  }

  /** Undefined when the host answered. */
  private async probe(host: PoolHost): Promise<unknown> {
    try {
      await host.upstream.version(AbortSignal.timeout(this.options.connectTimeoutMs));
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** One refresh at a time; callers that arrive during one share it. */
  private refreshCatalogs(): Promise<void> {
    this.refreshing ??= Promise.all(
      this.hosts.filter((host) => host.health.state === 'healthy').map((host) => this.refreshHost(host)),
    ).then(() => {
      this.refreshing = undefined;
      this.queue.wake();
    });
    return this.refreshing;
  }

  private async refreshHost(host: PoolHost): Promise<void> {
    const signal = AbortSignal.timeout(this.options.connectTimeoutMs);
    try {
      const models = await host.upstream.models(signal);
      host.modelNames = models.map((model) => model.id);
      host.models = new Set(models.map((model) => canonicalModel(host.config.kind, model.id)));
      host.loadedModels =
        host.upstream.native === undefined ? host.modelNames : await this.loadedOn(host, signal);
      host.catalogReadAt = performance.now();
      host.routed.setLoaded(
        host.loadedModels.map((name) => this.routeModel(name)),
        performance.now(),
      );
    } catch (error) {
      host.health.lastError = messageOf(error);
    }
  }

  private async loadedOn(host: PoolHost, signal: AbortSignal): Promise<string[]> {
    const answer = await host.upstream.native?.('GET', '/api/ps', undefined, signal);
    const models = (answer?.body as { models?: Array<{ name?: unknown; model?: unknown }> } | undefined)
      ?.models;
    return Array.isArray(models) ? models.map((model) => String(model.name ?? model.model)) : [];
  }

  /** Ollama's metadata calls: `/api/ps` from every healthy host, `/api/show` from one that has the model. */
  private async askNative(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<NativeAnswer> {
    const ollama = this.hosts.filter((host) => host.upstream.native !== undefined);
    const healthy = ollama.filter((host) => this.single || host.health.state === 'healthy');
    const ask = (host: PoolHost) =>
      (host.upstream.native as NonNullable<ChatUpstream['native']>)(method, path, body, signal);
    if (this.single || healthy.length === 0) return ask((healthy[0] ?? ollama[0]) as PoolHost);
    if (path === '/api/ps') {
      const answers = await Promise.allSettled(healthy.map(ask));
      const models = answers.flatMap((answer) =>
        answer.status === 'fulfilled' && answer.value.status === 200
          ? ((answer.value.body as { models?: unknown[] }).models ?? [])
          : [],
      );
      return { status: 200, body: { models } };
    }
    if (path === '/api/show') {
      const fields = (body ?? {}) as { model?: unknown; name?: unknown };
      const model = String(fields.model || fields.name || '');
      const host =
        healthy.find((candidate) => candidate.models?.has(canonicalModel('ollama', model))) ?? healthy[0];
      return ask(host as PoolHost);
    }
    return ask(healthy[0] as PoolHost);
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task().catch(() => {}), ms);
    timer.unref();
    this.timers.push(timer);
  }
}

function messageOf(error: unknown): string {
  return isGatewayError(error) || error instanceof Error ? error.message : String(error);
}
