import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'chatwire-personas-')), 'chatwire.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('CHATWIRE_CONFIG_FILE personas', () => {
  it('reads named personas with their prompt, model and options', () => {
    const file = configFile({
      personas: {
        pirate: {
          system_prompt: 'Talk like a pirate.',
          model: 'llama3.2',
          description: 'Arr',
          options: { temperature: 1.1, num_ctx: 8192 },
        },
        terse: { system_prompt: 'Be terse.' },
      },
    });
    expect(loadConfig({ CHATWIRE_CONFIG_FILE: file }).personas).toEqual([
      {
        name: 'pirate',
        model: 'llama3.2',
        systemPrompt: 'Talk like a pirate.',
        temperature: 1.1,
        maxTokens: 2048,
        description: 'Arr',
        options: { num_ctx: 8192 },
      },
      { name: 'terse', model: 'qwen2.5:7b', systemPrompt: 'Be terse.', temperature: 0.7, maxTokens: 2048 },
    ]);
  });

  it.each([
    ['not JSON', '{personas'],
    ['unknown field', { personas: { a: { system_prompt: 'x', colour: 'red' } } }],
    ['missing prompt', { personas: { a: { model: 'm' } } }],
    ['redefining default', { personas: { default: { system_prompt: 'x' } } }],
  ])('refuses a file with %s, naming the variable', (_case, content) => {
    expect(() => loadConfig({ CHATWIRE_CONFIG_FILE: configFile(content) })).toThrow(/CHATWIRE_CONFIG_FILE/);
  });
});
