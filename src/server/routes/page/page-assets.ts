import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/** Where `npm run build` puts the page: dist/page at the package root, whether this runs from src or dist. */
export const PAGE_DIR = fileURLToPath(new URL('../../../../dist/page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface PageAsset {
  type: string;
  etag: string;
  identity: Buffer;
  gzip: Buffer;
  brotli: Buffer;
}

/**
 * The built page, read once at start with the compressed copies the build wrote beside each file: it is a
 * few files and some tens of kilobytes, so serving it from memory costs nothing per request and needs no
 * static-file server. A file without its copy (a page built by hand) is compressed here instead.
 * Keys are URL paths under /ui/ (`index.html`, `assets/index-3f2a.js`).
 */
export function loadPageAssets(dir = PAGE_DIR): Map<string, PageAsset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const assets = new Map<string, PageAsset>();
  for (const file of filesUnder(dir)) {
    const identity = readFileSync(file);
    assets.set(relative(dir, file).split(sep).join('/'), {
      type: TYPES[extname(file)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
      identity,
      gzip: readCopy(`${file}.gz`) ?? gzipSync(identity, { level: 9 }),
      brotli: readCopy(`${file}.br`) ?? brotliCompressSync(identity),
    });
  }
  return assets;
}

function readCopy(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(gz|br)$/.test(name) ? [] : [path];
  });
}
