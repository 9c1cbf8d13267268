import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface MarkdownHarness {
  /** Serve this directory: `/markdown-harness.html` exposes the scenarios as `window.scenarios`. */
  dir: string;
  /** Gzipped bytes of each output chunk: `marked`, `dompurify`, `markdown` (src/page/markdown) and the rest. */
  gzipped: Record<string, number>;
  remove(): void;
}

/** Bundles markdown-scenarios.js with the renderer it drives, minified as the page is. */
export async function buildMarkdownHarness(): Promise<MarkdownHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'chatwire-markdown-'));
  await build({
    configFile: false,
    root: here,
    base: './',
    logLevel: 'warn',
    build: {
      outDir: dir,
      emptyOutDir: true,
      target: 'es2022',
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
      rolldownOptions: {
        input: join(here, 'markdown-harness.html'),
        output: {
          chunkFileNames: 'assets/[name].js',
          // One chunk each, to tell what the renderer's own code weighs next to its two libraries.
          codeSplitting: {
            includeDependenciesRecursively: false,
            groups: [
              { name: 'marked', test: /\/node_modules\/marked\// },
              { name: 'dompurify', test: /\/node_modules\/dompurify\// },
              { name: 'markdown', test: /\/src\/page\/markdown\// },
            ],
          },
        },
      },
    },
  });
  const gzipped: Record<string, number> = {};
  for (const file of readdirSync(join(dir, 'assets'))) {
    gzipped[basename(file, '.js')] = gzipSync(readFileSync(join(dir, 'assets', file)), { level: 9 }).length;
  }
  return { dir, gzipped, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
