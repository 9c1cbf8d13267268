import { statSync } from 'node:fs';
import type { ChunkBatch } from '../../contracts/chat-chunk.js';
import type { ChatRequest } from '../../contracts/chat-request.js';
import { GatewayError, isGatewayError } from '../../contracts/gateway-error.js';
import type { ChatUpstream, NativeAnswer, UpstreamModel } from '../chat-upstream.js';
import { modelDetails, psEntry, showBody } from './embedded-metadata.js';
import { generateReply } from './generate-reply.js';
import { type EmbeddedEngineOptions, type LoadedModel, loadEmbeddedModel } from './load-embedded-model.js';
import { findLocalModel, parseModelReference } from './model-reference.js';
import type { LlamaGrammar } from './node-llama-cpp.js';
import { toChatHistory, toSamplingOptions } from './to-llama-chat.js';

export interface EmbeddedUpstreamOptions extends EmbeddedEngineOptions {
  /** The one model name this engine answers to. */
  modelName: string;
}

export interface EmbeddedStatus {
  state: 'loading' | 'loaded' | 'failed' | 'closed';
  /** Why the last load failed. */
  error?: string;
  modelPath?: string;
  active: number;
  waiting: number;
  /** The most streams ever generated at once. */
  peakActive: number;
  /** Tokens generated since start, by every stream (an aborted one counts what it generated). */
  generatedTokens: number;
}

/** What `/api/version` reports for engines that are not Ollama (see the Ollama metadata routes). */
const OLLAMA_COMPATIBLE_VERSION = '0.12.6';
const LABEL = 'embedded llama.cpp';

/**
 * A GGUF model run in-process by llama.cpp (through node-llama-cpp), behind the same interface as the HTTP
 * upstreams. Loading starts at once and is retried by the next request after a failure, so a model pulled
 * after start-up is picked up without a restart.
 */
export class EmbeddedUpstream implements ChatUpstream {
  readonly label = LABEL;
  readonly baseUrl: string;
  private loading: Promise<LoadedModel> | undefined;
  private loaded: LoadedModel | undefined;
  private lastError: string | undefined;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private jsonGrammar: Promise<LlamaGrammar> | undefined;
  private generatedTokens = 0;

  constructor(private readonly options: EmbeddedUpstreamOptions) {
    this.baseUrl = options.modelReference;
    this.engine().catch(() => {});
  }

  async openChat(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChunkBatch>> {
    const startedAt = performance.now();
    this.assertServed(request.model);
    const history = toChatHistory(request);
    const loaded = await untilAborted(this.engine(), signal);
    const loadMs = performance.now() - startedAt;
    const sampling = toSamplingOptions(request.options, loaded.context.contextSize);
    const grammar = await this.grammarFor(loaded, request.format);
    const sequence = await loaded.sequences.acquire(signal);
    if (this.closed) {
      loaded.sequences.release(sequence);
      throw closedError();
    }
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    this.inFlight.add(settled);
    return generateReply({
      loaded,
      sequence,
      history,
      sampling,
      ...(grammar !== undefined && { grammar }),
      model: request.model,
      startedAt,
      loadMs,
      signal,
      onSettled: (generatedTokens) => {
        this.generatedTokens += generatedTokens;
        loaded.sequences.release(sequence);
        this.inFlight.delete(settled);
        settle();
      },
    });
  }

  /** Waits for the model (as long as the signal allows): ready means loaded. */
  async version(signal: AbortSignal): Promise<string> {
    try {
      const { llama } = await untilAborted(this.engine(), signal);
      return `node-llama-cpp on ${llama.gpu || 'cpu'}`;
    } catch (error) {
      if (signal.aborted && !isGatewayError(error)) {
        throw new GatewayError('upstream_unreachable', 503, `still loading the model ${this.baseUrl}`);
      }
      throw error;
    }
  }

  async models(_signal: AbortSignal): Promise<UpstreamModel[]> {
    const path =
      this.loaded?.path ??
      findLocalModel(parseModelReference(this.options.modelReference), this.options.modelsDir);
    if (path === undefined) return [];
    const name = this.options.modelName;
    const file = statSync(path, { throwIfNoEntry: false });
    const modified = file?.mtime ?? new Date(0);
    return [
      {
        id: name,
        created: Math.floor(modified.getTime() / 1000),
        ownedBy: 'chatwire',
        ollamaTag: {
          name,
          model: name,
          modified_at: modified.toISOString(),
          size: file?.size ?? 0,
          digest: '',
          details: this.loaded ? modelDetails(this.loaded) : { format: 'gguf' },
        },
      },
    ];
  }

  /** Ollama's metadata calls, answered from the loaded model. */
  async native(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<NativeAnswer> {
    if (method === 'GET' && path === '/api/version') return ok({ version: OLLAMA_COMPATIBLE_VERSION });
    if (method === 'GET' && path === '/api/ps') {
      return ok({ models: this.loaded ? [psEntry(this.loaded, this.options.modelName)] : [] });
    }
    if (method === 'POST' && path === '/api/show') {
      const model = String((body as { model?: unknown })?.model ?? '');
      if (!sameModel(model, this.options.modelName)) return notFound(model);
      try {
        return ok(showBody(await untilAborted(this.engine(), signal)));
      } catch (error) {
        if (!isGatewayError(error)) throw error;
        return { status: error.statusCode, body: { error: error.message } };
      }
    }
    return { status: 404, body: { error: `${method} ${path} is not available with the embedded engine` } };
  }

  status(): EmbeddedStatus {
    const sequences = this.loaded?.sequences;
    const state = this.closed ? 'closed' : this.loaded ? 'loaded' : this.loading ? 'loading' : 'failed';
    return {
      state,
      ...(state === 'failed' && this.lastError !== undefined && { error: this.lastError }),
      ...(this.loaded && { modelPath: this.loaded.path }),
      active: sequences?.active ?? 0,
      waiting: sequences?.waiting ?? 0,
      peakActive: sequences?.peakActive ?? 0,
      generatedTokens: this.generatedTokens,
    };
  }

  /** Fails waiting requests, lets generations stop (the relay has aborted them), then frees the model. */
  async close(): Promise<void> {
    this.closed = true;
    this.loaded?.sequences.rejectWaiting(closedError());
    await Promise.all(this.inFlight);
    const loaded = await this.loading?.catch(() => undefined);
    await loaded?.llama.dispose();
  }

  private engine(): Promise<LoadedModel> {
    if (this.closed) return Promise.reject(closedError());
    this.loading ??= loadEmbeddedModel(this.options).then(
      (loaded) => {
        this.loaded = loaded;
        return loaded;
      },
      (error: unknown) => {
        this.loading = undefined;
        this.lastError = error instanceof Error ? error.message : String(error);
        throw error;
      },
    );
    return this.loading;
  }

  private assertServed(model: string): void {
    if (sameModel(model, this.options.modelName)) return;
    throw new GatewayError(
      'not_found',
      404,
      `model '${model}' not found; the embedded engine serves '${this.options.modelName}'`,
    );
  }

  private async grammarFor(loaded: LoadedModel, format: unknown): Promise<LlamaGrammar | undefined> {
    if (format === undefined || format === null || format === '') return undefined;
    if (format === 'json') {
      this.jsonGrammar ??= loaded.llama.getGrammarFor('json');
      return this.jsonGrammar;
    }
    if (typeof format !== 'object') throw badFormat(`must be "json" or a JSON schema`);
    try {
      return await loaded.llama.createGrammarForJsonSchema(format as never);
    } catch (error) {
      throw badFormat(
        `this JSON schema is not supported by the embedded engine: ${(error as Error).message}`,
      );
    }
  }
}

/** Ollama's rule: `name` and `name:latest` are one model, and case does not matter. */
function sameModel(requested: string, served: string): boolean {
  const canonical = (name: string) => name.toLowerCase().replace(/:latest$/, '');
  return canonical(requested) === canonical(served);
}

/** The promise, or the signal's reason as soon as it aborts (the work itself goes on for whoever shares it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function ok(body: unknown): NativeAnswer {
  return { status: 200, body };
}

function notFound(model: string): NativeAnswer {
  return { status: 404, body: { error: `model '${model}' not found` } };
}

function closedError(): GatewayError {
  return new GatewayError('shutting_down', 503, 'the embedded engine is shutting down');
}

function badFormat(message: string): GatewayError {
  return new GatewayError('bad_request', 400, `format ${message}`, { param: 'format' });
}
