#!/usr/bin/env node
// Builds the chat page (src/page) into dist/page and holds it to its budget: 50 kB gzipped, all files.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const BUDGET_BYTES = 50 * 1000;
const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'dist/page');

let vite;
try {
  vite = await import('vite');
} catch (error) {
  // `npm install --omit=optional` leaves out the bundler's native binary (an optional package): the gateway
  // works without its page, and says so to a browser.
  console.warn(`chat page not built: Vite cannot load here (${error.message.split('\n')[0]})`);
  process.exit(0);
}
await vite.build({ configFile: join(root, 'src/page/vite.config.ts'), logLevel: 'warn' });

const files = filesUnder(outDir);
let total = 0;
// The gateway serves these compressed copies as they are: compressing at brotli's best at every start took
// about 190 ms and a transient peak of memory.
const lines = files.map((file) => {
  const identity = readFileSync(file);
  const gzip = gzipSync(identity, { level: 9 });
  writeFileSync(`${file}.gz`, gzip);
  writeFileSync(`${file}.br`, brotliCompressSync(identity));
  const gzipped = gzip.length;
  total += gzipped;
  return `  ${relative(outDir, file).padEnd(36)} ${(gzipped / 1000).toFixed(1).padStart(6)} kB gzipped`;
});
console.log(`chat page: ${(total / 1000).toFixed(1)} kB gzipped of a ${BUDGET_BYTES / 1000} kB budget`);
console.log(lines.join('\n'));
if (total > BUDGET_BYTES) {
  console.error(`chat page is over its budget by ${((total - BUDGET_BYTES) / 1000).toFixed(1)} kB`);
  process.exit(1);
}

/** The built files, not compressed copies a previous build left. */
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return /\.(gz|br)$/.test(name) ? [] : [path];
  });
}
