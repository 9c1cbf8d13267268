import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { root } from './child-gateway.js';

export interface BundledCli {
  /** `node` arguments that run this bundle's chatwire command (cwd: `root`); what `launchChild` takes. */
  args: string[];
  /**
   * The same, in a process that first loads every package the bundle imports, then waits for a line on
   * its stdin (spawn it with stdin 'pipe') before chatwire itself starts: a test that restarts chatwire
   * over and over spawns the next one while the current one still runs, and pays only for chatwire's own
   * start-up (opening the database, recovery, listening) once it says go.
   */
  heldArgs: string[];
  remove(): Promise<void>;
}

/**
 * chatwire's own sources bundled into one file, for tests that start `chatwire serve` dozens of times:
 * it starts in about half the time of the tsx child (no per-file transform or resolution), from the same
 * code. Packages stay external, loaded from node_modules as the built CLI loads them. The files sit one
 * folder below the repository (in the ignored test-output/), where `src/version.ts` finds
 * `../package.json` as it does from `dist/`.
 */
export async function bundleCli(name: string): Promise<BundledCli> {
  const file = join(root, 'test-output', `${name}-${process.pid}.mjs`);
  const preload = join(root, 'test-output', `${name}-${process.pid}-held.mjs`);
  const { metafile } = await build({
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: file,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    metafile: true,
  });
  const packages = new Set<string>();
  for (const output of Object.values(metafile.outputs))
    for (const imported of output.imports) if (imported.external) packages.add(imported.path);
  // Optional and native-only packages may be absent; chatwire copes with that, so the preload must too.
  await writeFile(
    preload,
    `await Promise.all(${JSON.stringify([...packages])}.map((name) => import(name).catch(() => {})));\n` +
      'await new Promise((resolve) => process.stdin.once("data", resolve));\n' +
      'process.stdin.destroy();\n',
  );
  return {
    args: [file],
    heldArgs: ['--import', preload, file],
    remove: async () => {
      await Promise.all([rm(file, { force: true }), rm(preload, { force: true })]);
    },
  };
}
