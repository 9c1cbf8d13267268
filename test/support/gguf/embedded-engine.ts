import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedStatus, EmbeddedUpstream } from '../../../src/upstream/embedded/embedded-upstream.js';
import { type RunningGateway, startGateway } from '../start-gateway.js';
import { writeTinyGguf } from './write-tiny-gguf.js';

/**
 * Whether node-llama-cpp is installed. It is an optional dependency: where it could not be installed the
 * embedded tests are skipped, and say why.
 */
export async function embeddedEngineAvailable(suite: string): Promise<boolean> {
  const specifier = 'node-llama-cpp';
  try {
    await import(specifier);
    return true;
  } catch (error) {
    console.warn(`${suite}: skipped, node-llama-cpp cannot be imported (${(error as Error).message})`);
    return false;
  }
}

/** A temporary folder holding the tiny test model as `tiny-chat.gguf` (served as model `tiny-chat`). */
export async function tinyModelFolder(): Promise<{
  dir: string;
  modelPath: string;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'chatwire-embedded-'));
  const modelPath = join(dir, 'tiny-chat.gguf');
  await writeTinyGguf(modelPath);
  return { dir, modelPath, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The gateway on the embedded engine, as tests run it: CPU only, one thread, greedy decoding. */
export function startEmbeddedGateway(
  modelFile: string,
  env: Record<string, string> = {},
): Promise<RunningGateway> {
  return startGateway('127.0.0.1:1', {
    CHATWIRE_ENGINE: 'embedded',
    CHATWIRE_MODEL_FILE: modelFile,
    CHATWIRE_GPU: 'false',
    CHATWIRE_THREADS: '1',
    CHATWIRE_CONTEXT_LENGTH: '1024',
    CHATWIRE_TEMPERATURE: '0',
    CHATWIRE_MAX_TOKENS: '24',
    ...env,
  });
}

export function engineStatus(chatwire: RunningGateway): EmbeddedStatus {
  return (chatwire.gateway.upstream as EmbeddedUpstream).status();
}

/** Polls until `check` holds (the engine settles a stream right after its client has gone). */
export async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
