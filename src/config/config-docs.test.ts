import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from './config.js';

/** The README's configuration table: the first table after "## Configuration" (the gateway's variables). */
function documentedVariables(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const lines = readme.slice(readme.indexOf('\n## Configuration\n')).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, index) => index > first && !line.startsWith('|'));
  return lines.slice(first, end).flatMap((line) => /^\| `([A-Z_]+)`/.exec(line)?.[1] ?? []);
}

describe('the README configuration table', () => {
  it('has a row for every variable the configuration reads, and none it does not', () => {
    const documented = documentedVariables();
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});
