import { GatewayError } from '../../contracts/gateway-error.js';

/**
 * The part of node-llama-cpp chatwire uses, declared here rather than imported: it is an optional
 * dependency, so the type check (and everything else) must work where it could not be installed.
 */
export interface NodeLlamaCpp {
  getLlama(options: {
    gpu: 'auto' | false | 'cuda' | 'vulkan' | 'metal';
    build: 'never';
    skipDownload: boolean;
    progressLogs: boolean;
    maxThreads: number;
    logLevel: 'error' | 'warn';
  }): Promise<Llama>;
  LlamaChat: new (options: { contextSequence: LlamaContextSequence }) => LlamaChat;
}

export interface Llama {
  readonly gpu: string | false;
  loadModel(options: { modelPath: string; gpuLayers?: 'auto' | number }): Promise<LlamaModel>;
  getGrammarFor(type: 'json'): Promise<LlamaGrammar>;
  createGrammarForJsonSchema(schema: never): Promise<LlamaGrammar>;
  dispose(): Promise<void>;
}

/** Opaque: only handed back to node-llama-cpp. */
export type LlamaGrammar = object;

export interface LlamaModel {
  readonly size: number;
  readonly trainContextSize: number;
  readonly gpuLayers: number;
  readonly fileInfo: { readonly metadata: unknown };
  createContext(options: {
    sequences: number;
    contextSize: number;
    threads: number;
    batchSize?: number;
  }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

export interface LlamaContext {
  readonly contextSize: number;
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}

export interface LlamaContextSequence {
  readonly contextSize: number;
  readonly tokenMeter: { readonly usedInputTokens: number; readonly usedOutputTokens: number };
  readonly disposed: boolean;
  dispose(): Promise<void>;
}

export type ChatHistoryItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: string[] };

export interface ResponseChunk {
  type: undefined | 'segment';
  segmentType: undefined | string;
  text: string;
  tokens: readonly number[];
}

export interface GenerateOptions {
  onResponseChunk: (chunk: ResponseChunk) => void;
  signal: AbortSignal;
  stopOnAbortSignal: boolean;
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  minP?: number;
  seed?: number;
  repeatPenalty?: {
    penalty?: number;
    lastTokens?: number;
    frequencyPenalty?: number;
    presencePenalty?: number;
  };
  customStopTriggers?: string[];
  grammar?: LlamaGrammar;
}

export interface LlamaChat {
  generateResponse(
    history: ChatHistoryItem[],
    options: GenerateOptions,
  ): Promise<{ metadata: { stopReason: string } }>;
  dispose(options?: { disposeSequence?: boolean }): void;
}

// A variable specifier keeps the type checker (and bundlers) from requiring the package to be installed.
const PACKAGE = 'node-llama-cpp';

/**
 * Loads node-llama-cpp on first use only, with downloads switched off: chatwire never fetches or builds
 * llama.cpp at run time. Without the package, a 503 that says how to get it.
 */
export async function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= 'true';
  try {
    return (await import(PACKAGE)) as NodeLlamaCpp;
  } catch (error) {
    const missing =
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(`'${PACKAGE}'`);
    const message = missing
      ? 'the embedded engine needs node-llama-cpp, which is not installed: run `npm install node-llama-cpp` ' +
        'where chatwire is installed (it is an optional dependency), or use Ollama instead'
      : `node-llama-cpp could not be loaded: ${(error as Error).message}`;
    throw new GatewayError('upstream_unreachable', 503, message, { cause: error });
  }
}
