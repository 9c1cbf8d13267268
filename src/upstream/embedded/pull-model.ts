import { once } from 'node:events';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Agent, type Dispatcher, interceptors, request } from 'undici';
import { describeNetworkError } from '../upstream-errors.js';
import {
  expectedLocalPath,
  filesForQuant,
  findLocalModel,
  type ModelReference,
  parseModelReference,
} from './model-reference.js';

export interface PullOptions {
  /** A model reference as CHATWIRE_MODEL_FILE takes it. */
  reference: string;
  modelsDir: string;
  /** The Hugging Face hub (or a mirror speaking its API). */
  hfEndpoint: string;
  /** How long reaching the server may take before we call the machine offline. */
  connectTimeoutMs?: number;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullProgress {
  url: string;
  receivedBytes: number;
  /** Unknown when the server sends no length. */
  totalBytes: number | undefined;
  /** Bytes that were already on disk from an interrupted pull. */
  resumedFromBytes: number;
  elapsedMs: number;
}

export interface PullResult {
  path: string;
  bytes: number;
  /** Already in the models folder: nothing was fetched. */
  cached: boolean;
  url?: string;
}

/** A pull that failed, with a message meant for the person who ran it. */
export class PullError extends Error {
  override readonly name = 'PullError';
}

const GGUF_MAGIC = 'GGUF';
/** A server that accepted the connection but sends no headers, or stops sending data, for this long is stuck. */
const RESPONSE_TIMEOUT_MS = 30_000;
const STALL_TIMEOUT_MS = 60_000;

/**
 * Downloads a model into the models folder, unless it is there already (then nothing touches the network).
 * The file grows as `<name>.partial` and is renamed once complete and checked to be GGUF; an interrupted
 * pull resumes where it stopped.
 */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  let reference: ModelReference;
  try {
    reference = parseModelReference(options.reference);
  } catch (error) {
    throw new PullError((error as Error).message);
  }
  const present = findLocalModel(reference, options.modelsDir);
  if (present !== undefined) return { path: present, bytes: statSync(present).size, cached: true };
  if (reference.type === 'file') {
    throw new PullError(`${reference.path} does not exist; pull fetches hf: references and http(s) URLs`);
  }
  const dispatcher = new Agent({
    connect: { timeout: options.connectTimeoutMs ?? 5_000 },
    headersTimeout: RESPONSE_TIMEOUT_MS,
    bodyTimeout: STALL_TIMEOUT_MS,
  }).compose(interceptors.redirect({ maxRedirections: 5 }));
  const http = { dispatcher, signal: options.signal, endpoint: options.hfEndpoint.replace(/\/+$/, '') };
  try {
    const target =
      reference.type === 'hf' && reference.quant !== undefined
        ? { ...reference, quant: undefined, file: await pickQuantFile(reference, http) }
        : reference;
    const path = expectedLocalPath(target, options.modelsDir) as string;
    if (existsSync(path)) return { path, bytes: statSync(path).size, cached: true };
    const url =
      target.type === 'hf'
        ? `${http.endpoint}/${target.owner}/${target.repo}/resolve/main/${target.file.split('/').map(encodeURIComponent).join('/')}`
        : target.url;
    const bytes = await download(url, path, http, options.onProgress);
    return { path, bytes, cached: false, url };
  } finally {
    await dispatcher.close();
  }
}

interface Http {
  dispatcher: Dispatcher;
  signal: AbortSignal | undefined;
  endpoint: string;
}

/** The repository's one GGUF file for the quantization, from the hub's file list. */
async function pickQuantFile(
  reference: Extract<ModelReference, { type: 'hf' }>,
  http: Http,
): Promise<string> {
  const repo = `${reference.owner}/${reference.repo}`;
  const url = `${http.endpoint}/api/models/${repo}`;
  const response = await get(url, http);
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw statusError(url, response.statusCode, `the repository ${repo}`);
  }
  const listing = (await response.body.json().catch(() => ({}))) as {
    siblings?: Array<{ rfilename?: unknown }>;
  };
  const files = (listing.siblings ?? [])
    .map((entry) => entry.rfilename)
    .filter((name) => typeof name === 'string');
  const matches = filesForQuant(files, reference.quant as string);
  const whole = matches.filter((file) => !/-\d{5}-of-\d{5}\.gguf$/i.test(file));
  const pick = whole.sort((a, b) => a.length - b.length || a.localeCompare(b))[0];
  if (pick !== undefined) return pick;
  if (matches.length > 0) {
    throw new PullError(
      `${repo} has ${reference.quant} only as split files (${matches[0]}, …), which pull does not join`,
    );
  }
  const ggufs = files.filter((file) => file.toLowerCase().endsWith('.gguf'));
  throw new PullError(
    `${repo} has no ${reference.quant} GGUF file; ` +
      (ggufs.length === 0
        ? 'it has no GGUF files at all'
        : `name one as hf:${repo}/<file>: ${ggufs.slice(0, 12).join(', ')}${ggufs.length > 12 ? ', …' : ''}`),
  );
}

async function download(
  url: string,
  path: string,
  http: Http,
  onProgress: PullOptions['onProgress'],
): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const onDisk = statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
  let response = await get(url, http, onDisk > 0 ? { range: `bytes=${onDisk}-` } : {});
  if (response.statusCode === 416) {
    // What was kept no longer fits the file on the server: start over.
    await response.body.dump();
    response = await get(url, http);
  }
  const resumed = response.statusCode === 206;
  if (response.statusCode !== 200 && !resumed) {
    await response.body.dump();
    throw statusError(url, response.statusCode, 'the file');
  }
  const start = resumed ? onDisk : 0;
  const length = Number(response.headers['content-length']);
  const totalBytes = Number.isFinite(length) ? start + length : undefined;
  const out = createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
  const startedAt = performance.now();
  let received = start;
  try {
    for await (const chunk of response.body) {
      received += (chunk as Buffer).length;
      if (!out.write(chunk)) await once(out, 'drain');
      onProgress?.({
        url,
        receivedBytes: received,
        totalBytes,
        resumedFromBytes: start,
        elapsedMs: performance.now() - startedAt,
      });
    }
  } catch (error) {
    if (http.signal?.aborted) throw http.signal.reason;
    throw new PullError(
      `the download of ${url} broke off at ${received} bytes (${describeNetworkError(error)}); pull again to resume`,
    );
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (totalBytes !== undefined && received !== totalBytes) {
    throw new PullError(
      `the download of ${url} ended at ${received} of ${totalBytes} bytes; pull again to resume`,
    );
  }
  if (!(await startsWithMagic(partial))) {
    await rm(partial, { force: true });
    throw new PullError(`${url} is not a GGUF file`);
  }
  await rename(partial, path);
  return received;
}

async function get(url: string, http: Http, headers: Record<string, string> = {}) {
  try {
    return await request(url, { dispatcher: http.dispatcher, signal: http.signal, headers });
  } catch (error) {
    if (http.signal?.aborted) throw http.signal.reason;
    const host = new URL(url).host;
    throw new PullError(
      `cannot reach ${host}: ${describeNetworkError(error)}. Is this machine offline? Pulling needs the ` +
        'network once; after that the model loads from the models folder with no network at all ' +
        '(or copy a .gguf file there and point CHATWIRE_MODEL_FILE at it).',
    );
  }
}

function statusError(url: string, status: number, what: string): PullError {
  if (status === 404) return new PullError(`${what} was not found at ${url} (HTTP 404)`);
  if (status === 401 || status === 403) {
    return new PullError(
      `${url} answered HTTP ${status}: ${what} needs an account (a gated or private model)`,
    );
  }
  return new PullError(`${url} answered HTTP ${status}`);
}

async function startsWithMagic(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await file.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.toString('latin1') === GGUF_MAGIC;
  } finally {
    await file.close();
  }
}
