import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { root } from './child-gateway.js';

export interface BundledCli {
  /** `node` arguments that run this bundle's chatwire command (cwd: `root`); what `startChild` takes. */
  args: string[];
  remove(): Promise<void>;
}

/**
 * chatwire's own sources bundled into one file, for tests that start `chatwire serve` dozens of times:
 * it starts in about half the time of the tsx child (no per-file transform or resolution), from the same
 * code. Packages stay external, loaded from node_modules as the built CLI loads them. The file sits one
 * folder below the repository (in the ignored test-output/), where `src/version.ts` finds
 * `../package.json` as it does from `dist/`.
 */
export async function bundleCli(name: string): Promise<BundledCli> {
  const file = join(root, 'test-output', `${name}-${process.pid}.mjs`);
  await build({
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: file,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return { args: [file], remove: () => rm(file, { force: true }) };
}
