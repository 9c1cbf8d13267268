// Vitest global setup: the suite serves the page from dist/page, so it builds the page from the sources it
// tests (and holds it to its budget) before any test file runs.
import { execFileSync } from 'node:child_process';
import { root } from './child-gateway.js';

export default function buildPage(): void {
  execFileSync(process.execPath, ['scripts/build-page.mjs'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
