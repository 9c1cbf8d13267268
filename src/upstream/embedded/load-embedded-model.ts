import { GatewayError } from '../../contracts/gateway-error.js';
import { findLocalModel, type ModelReference, modelFolder, parseModelReference } from './model-reference.js';
import {
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  loadNodeLlamaCpp,
  type NodeLlamaCpp,
} from './node-llama-cpp.js';
import { SequencePool } from './sequence-pool.js';

export interface EmbeddedEngineOptions {
  /** CHATWIRE_MODEL_FILE: a path, an hf: reference or a URL. */
  modelReference: string;
  modelsDir: string;
  threads: number;
  parallel: number;
  maxQueue: number;
  /** Tokens per sequence; capped at what the model was trained on. */
  contextLength: number;
  gpu: 'auto' | false | 'cuda' | 'vulkan' | 'metal';
}

export interface LoadedModel {
  api: NodeLlamaCpp;
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequences: SequencePool<LlamaContextSequence>;
  path: string;
  loadMs: number;
  loadedAt: Date;
}

/**
 * Loads the model into a context with one sequence per parallel stream. Every failure is a 503 that says
 * what to do: install node-llama-cpp, pull the model, or fix the file.
 */
export async function loadEmbeddedModel(options: EmbeddedEngineOptions): Promise<LoadedModel> {
  const reference = parseModelReference(options.modelReference);
  const path = findLocalModel(reference, options.modelsDir);
  if (path === undefined) throw missingModel(reference, options);
  const started = performance.now();
  const api = await loadNodeLlamaCpp();
  let llama: Llama;
  try {
    llama = await api.getLlama({
      gpu: options.gpu,
      // Never compile llama.cpp or download its sources at run time: use the prebuilt binaries or fail.
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      maxThreads: options.threads,
      logLevel: 'error',
    });
  } catch (error) {
    throw unavailable(`node-llama-cpp has no llama.cpp build that runs here: ${messageOf(error)}`, error);
  }
  try {
    const model = await llama.loadModel({ modelPath: path, gpuLayers: options.gpu === false ? 0 : 'auto' });
    const contextSize = Math.min(options.contextLength, model.trainContextSize || options.contextLength);
    const context = await model.createContext({
      sequences: options.parallel,
      contextSize,
      threads: options.threads,
    });
    const sequences = new SequencePool(options.parallel, options.maxQueue, () => context.getSequence());
    return {
      api,
      llama,
      model,
      context,
      sequences,
      path,
      loadMs: performance.now() - started,
      loadedAt: new Date(),
    };
  } catch (error) {
    await llama.dispose().catch(() => {});
    throw unavailable(`cannot load the model ${path}: ${messageOf(error)}`, error);
  }
}

function missingModel(reference: ModelReference, options: EmbeddedEngineOptions): GatewayError {
  if (reference.type === 'file') {
    return unavailable(`model file not found: ${reference.path} (set CHATWIRE_MODEL_FILE to a .gguf file)`);
  }
  const ref = options.modelReference;
  return unavailable(
    `model ${ref} is not downloaded (looked in ${modelFolder(reference, options.modelsDir)}): ` +
      `run \`chatwire pull ${ref}\`, or start with \`chatwire serve --pull\``,
  );
}

function unavailable(message: string, cause?: unknown): GatewayError {
  return new GatewayError('upstream_unreachable', 503, message, { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
