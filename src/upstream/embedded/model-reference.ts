import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/**
 * Where the embedded engine's model comes from: a local `.gguf` path, a Hugging Face reference
 * (`hf:owner/repo:QUANT`, or `hf:owner/repo/file.gguf`), or a plain http(s) URL. Remote models are only ever
 * read from the models folder here; downloading them is `pullModel`'s job, and only when asked.
 */
export type ModelReference =
  | { type: 'file'; path: string }
  | { type: 'hf'; owner: string; repo: string; quant: string; file?: undefined }
  | { type: 'hf'; owner: string; repo: string; file: string; quant?: undefined }
  | { type: 'url'; url: string };

/** The quantization `hf:owner/repo` means when it names none (the usual pick for small models). */
const DEFAULT_QUANT = 'Q4_K_M';

export function parseModelReference(text: string): ModelReference {
  const value = text.trim();
  if (value.startsWith('hf:')) return parseHfReference(value);
  if (/^https?:\/\//i.test(value)) return { type: 'url', url: new URL(value).href };
  const expanded = value === '~' || value.startsWith('~/') ? join(homedir(), value.slice(1)) : value;
  return { type: 'file', path: resolve(expanded) };
}

function parseHfReference(value: string): ModelReference {
  const body = value.slice('hf:'.length);
  const [owner, rest] = splitOnce(body, '/');
  if (!owner || !rest)
    throw new Error(`'${value}' should look like hf:owner/repo:QUANT or hf:owner/repo/file.gguf`);
  const [repoPart, filePart] = splitOnce(rest, '/');
  if (filePart !== undefined) {
    if (!filePart.toLowerCase().endsWith('.gguf')) throw new Error(`'${value}' should name a .gguf file`);
    return { type: 'hf', owner, repo: repoPart, file: filePart };
  }
  const [repo, quant] = splitOnce(repoPart, ':');
  if (!repo) throw new Error(`'${value}' names no repository`);
  return { type: 'hf', owner, repo, quant: quant || DEFAULT_QUANT };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

/** The name clients use for the model: `qwen2.5-0.5b-instruct:q4_k_m` for an hf quant, else the file's name. */
export function servedModelName(reference: ModelReference): string {
  switch (reference.type) {
    case 'hf':
      if (reference.quant !== undefined)
        return `${reference.repo.replace(/[-_.]gguf$/i, '')}:${reference.quant}`.toLowerCase();
      return stem(reference.file);
    case 'url':
      return stem(new URL(reference.url).pathname);
    case 'file':
      return stem(reference.path);
  }
}

function stem(path: string): string {
  return basename(path)
    .replace(/\.gguf$/i, '')
    .toLowerCase();
}

/** The folder a remote model is saved in. */
export function modelFolder(reference: ModelReference, modelsDir: string): string {
  if (reference.type === 'hf') return join(modelsDir, 'huggingface', reference.owner, reference.repo);
  if (reference.type === 'url')
    return join(modelsDir, 'downloads', new URL(reference.url).host.replace(':', '_'));
  return resolve(reference.path, '..');
}

/**
 * The local file for a reference, when there is one: the path itself, or the file a pull saved. Never touches
 * the network, so the engine can start offline.
 */
export function findLocalModel(reference: ModelReference, modelsDir: string): string | undefined {
  if (reference.type === 'hf' && reference.quant !== undefined) {
    const folder = modelFolder(reference, modelsDir);
    if (!existsSync(folder)) return undefined;
    const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).map((file) =>
      file.replaceAll('\\', '/'),
    );
    const match = filesForQuant(files, reference.quant)[0];
    return match === undefined ? undefined : join(folder, ...match.split('/'));
  }
  const path = expectedLocalPath(reference, modelsDir);
  return path !== undefined && existsSync(path) ? path : undefined;
}

/** Where a reference lives locally, when that is known without a listing (every kind but an hf quant). */
export function expectedLocalPath(reference: ModelReference, modelsDir: string): string | undefined {
  switch (reference.type) {
    case 'file':
      return reference.path;
    case 'url':
      return join(modelFolder(reference, modelsDir), basename(new URL(reference.url).pathname));
    case 'hf':
      return reference.file === undefined
        ? undefined
        : join(modelFolder(reference, modelsDir), ...reference.file.split('/'));
  }
}

/**
 * The `.gguf` files named for a quantization, case-insensitively and as a whole word: `Q4_K` does not pick
 * `q4_k_m`. Projector files (`mmproj-…`) are not chat models.
 */
export function filesForQuant(files: string[], quant: string): string[] {
  const escaped = quant.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(^|[-._/])${escaped}([-.]|$)`, 'i');
  return files
    .filter((file) => file.toLowerCase().endsWith('.gguf'))
    .filter((file) => !basename(file).toLowerCase().startsWith('mmproj'))
    .filter((file) => pattern.test(file.replace(/\.gguf$/i, '')))
    .sort();
}

/** Where models go unless CHATWIRE_MODELS_DIR says otherwise: the user's data directory, per platform. */
export function defaultModelsDir(env: Record<string, string | undefined> = process.env): string {
  const home = homedir();
  if (process.platform === 'win32')
    return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'chatwire', 'models');
  if (process.platform === 'darwin')
    return join(home, 'Library', 'Application Support', 'chatwire', 'models');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'chatwire', 'models');
}
