// `chatwire pull`: models fetched from a hub on 127.0.0.1 into a models folder, with progress, from cache the
// second time, resumed after an interruption, and a clear message when the hub cannot be reached.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PullProgress, pullModel } from '../../src/upstream/embedded/pull-model.js';
import { CLI, root } from '../support/child-gateway.js';
import { embeddedEngineAvailable, startEmbeddedGateway } from '../support/gguf/embedded-engine.js';
import { type FakeModelHub, startFakeModelHub } from '../support/gguf/fake-model-hub.js';
import { encodeTinyGguf } from '../support/gguf/write-tiny-gguf.js';
import { closedPort, postChat, readLines } from '../support/start-gateway.js';

const available = await embeddedEngineAvailable('pulled model chat test');

const model = encodeTinyGguf();
const REF = 'hf:chatwire/tiny-GGUF:Q4_K_M';
let hub: FakeModelHub;
let modelsDir: string;

beforeAll(async () => {
  hub = await startFakeModelHub(model);
});
afterAll(() => hub?.close());
beforeEach(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'chatwire-models-'));
  hub.requests.length = 0;
  return () => rm(modelsDir, { recursive: true, force: true });
});

const pull = (reference: string, onProgress?: (progress: PullProgress) => void) =>
  pullModel({ reference, modelsDir, hfEndpoint: hub.url, ...(onProgress && { onProgress }) });

describe('pullModel', () => {
  it('resolves hf:owner/repo:QUANT from the file list, downloads with progress, then serves it from cache', async () => {
    const progress: PullProgress[] = [];
    const first = await pull(REF, (update) => progress.push(update));
    const path = join(modelsDir, 'huggingface', 'chatwire', 'tiny-GGUF', 'tiny-chat-Q4_K_M.gguf');
    expect(first).toEqual({
      path,
      bytes: model.length,
      cached: false,
      url: `${hub.url}/chatwire/tiny-GGUF/resolve/main/tiny-chat-Q4_K_M.gguf`,
    });
    expect((await readFile(path)).equals(model)).toBe(true);
    expect(existsSync(`${path}.partial`)).toBe(false);
    // The hub sends eight pieces; reads may join some of them, but progress is reported as they come.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((update) => update.totalBytes === model.length)).toBe(true);
    const received = progress.map((update) => update.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(received.at(-1)).toBe(model.length);
    expect(hub.requests.map((request) => request.path)).toEqual([
      '/api/models/chatwire/tiny-GGUF',
      '/chatwire/tiny-GGUF/resolve/main/tiny-chat-Q4_K_M.gguf',
      '/cdn/tiny-chat-Q4_K_M.gguf',
    ]);

    hub.requests.length = 0;
    expect(await pull(REF)).toEqual({ path, bytes: model.length, cached: true });
    // Found in the models folder: the hub was not asked, so this works offline.
    expect(hub.requests).toEqual([]);
  });

  it('takes a named file or a plain URL', async () => {
    const named = await pull('hf:chatwire/tiny-GGUF/tiny-chat-Q4_K_M.gguf');
    expect(named.path).toBe(join(modelsDir, 'huggingface', 'chatwire', 'tiny-GGUF', 'tiny-chat-Q4_K_M.gguf'));
    const byUrl = await pull(`${hub.url}/files/tiny-chat.gguf`);
    expect(byUrl.cached).toBe(false);
    expect((await readFile(byUrl.path)).equals(model)).toBe(true);
  });

  it('resumes an interrupted download where it stopped', async () => {
    const folder = join(modelsDir, 'huggingface', 'chatwire', 'tiny-GGUF');
    await mkdir(folder, { recursive: true });
    const half = Math.floor(model.length / 2);
    await writeFile(join(folder, 'tiny-chat-Q4_K_M.gguf.partial'), model.subarray(0, half));
    const result = await pull(REF);
    expect((await readFile(result.path)).equals(model)).toBe(true);
    expect(hub.requests.at(-1)).toEqual({ path: '/cdn/tiny-chat-Q4_K_M.gguf', range: `bytes=${half}-` });
  });

  it('says the machine looks offline when the hub cannot be reached', async () => {
    const offline = `http://127.0.0.1:${await closedPort()}`;
    await expect(pullModel({ reference: REF, modelsDir, hfEndpoint: offline })).rejects.toThrow(
      /^cannot reach 127\.0\.0\.1:\d+: connect ECONNREFUSED .*Is this machine offline\?/,
    );
  });

  it('refuses what is not a GGUF file, and a quantization the repository lacks', async () => {
    await expect(pull(`${hub.url}/files/not-a-model.gguf`)).rejects.toThrow(/is not a GGUF file$/);
    expect(existsSync(join(modelsDir, 'downloads'))).toBe(true);
    await expect(pull('hf:chatwire/tiny-GGUF:Q2_K')).rejects.toThrow(
      'chatwire/tiny-GGUF has no Q2_K GGUF file; name one as hf:chatwire/tiny-GGUF/<file>: ' +
        'mmproj-tiny-chat-Q4_K_M.gguf, tiny-chat-Q4_K_M.gguf, tiny-chat-Q8_0.gguf',
    );
    await expect(pull('hf:chatwire/missing-GGUF:Q4_K_M')).rejects.toThrow(/was not found .*HTTP 404/);
  });
});

describe('chatwire pull', () => {
  it('prints progress on stderr, the model path on stdout, and exits 0', async () => {
    const child = spawn(process.execPath, [...CLI, 'pull', REF], {
      cwd: root,
      env: { ...process.env, CHATWIRE_MODELS_DIR: modelsDir, CHATWIRE_HF_ENDPOINT: hub.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => {
      stdout += data;
    });
    child.stderr.on('data', (data) => {
      stderr += data;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toBe(
      `${join(modelsDir, 'huggingface', 'chatwire', 'tiny-GGUF', 'tiny-chat-Q4_K_M.gguf')}\n`,
    );
    // Not a terminal: one plain line per tenth, the last at 100%, then a summary.
    expect(stderr).toMatch(/^ {1,2}\d{1,2}% [\d.]+ kB \/ 471\.3 kB · [\d.]+ [kMG]?B\/s · ETA \d+s\n/m);
    expect(stderr).toMatch(/^100% 471\.3 kB \/ 471\.3 kB · [\d.]+ [kMG]?B\/s\n/m);
    expect(stderr).toMatch(/pulled hf:chatwire\/tiny-GGUF:Q4_K_M \(471\.3 kB\)\n$/);
  }, 20_000);
});

describe.skipIf(!available)('a pulled model', () => {
  it('is what the embedded engine serves for its reference, named after the repository and quantization', async () => {
    await pull(REF);
    const chatwire = await startEmbeddedGateway(REF, { CHATWIRE_MODELS_DIR: modelsDir });
    try {
      expect(chatwire.gateway.config.persona.model).toBe('tiny:q4_k_m');
      const lines = await readLines(await postChat(chatwire.url));
      expect(lines.at(-1)).toMatchObject({ model: 'tiny:q4_k_m', done: true, eval_count: 24 });
    } finally {
      await chatwire.close();
    }
  });
});
