import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesForQuant, findLocalModel, parseModelReference, servedModelName } from './model-reference.js';

describe('parseModelReference', () => {
  it('reads hf references with a quantization, a file, or neither', () => {
    expect(parseModelReference('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M')).toEqual({
      type: 'hf',
      owner: 'Qwen',
      repo: 'Qwen2.5-0.5B-Instruct-GGUF',
      quant: 'Q4_K_M',
    });
    expect(
      parseModelReference('hf:bartowski/Llama-3.2-1B-Instruct-GGUF/sub/Llama-3.2-1B-Instruct-Q8_0.gguf'),
    ).toEqual({
      type: 'hf',
      owner: 'bartowski',
      repo: 'Llama-3.2-1B-Instruct-GGUF',
      file: 'sub/Llama-3.2-1B-Instruct-Q8_0.gguf',
    });
    expect(parseModelReference('hf:owner/repo')).toMatchObject({ quant: 'Q4_K_M' });
  });

  it('reads URLs and paths, expanding ~', () => {
    expect(parseModelReference('https://example.com/m/tiny.gguf')).toEqual({
      type: 'url',
      url: 'https://example.com/m/tiny.gguf',
    });
    expect(parseModelReference('~/models/a.gguf')).toEqual({
      type: 'file',
      path: join(homedir(), 'models/a.gguf'),
    });
    expect(parseModelReference('models/a.gguf')).toEqual({ type: 'file', path: resolve('models/a.gguf') });
  });

  it('refuses hf references that name no repository or no .gguf file', () => {
    expect(() => parseModelReference('hf:nobody')).toThrow(/hf:owner\/repo:QUANT/);
    expect(() => parseModelReference('hf:owner/repo/README.md')).toThrow(/\.gguf/);
  });
});

describe('servedModelName', () => {
  it.each([
    ['hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M', 'qwen2.5-0.5b-instruct:q4_k_m'],
    ['hf:owner/repo/Tiny-Chat-Q8_0.gguf', 'tiny-chat-q8_0'],
    ['https://example.com/m/Tiny.gguf?download=1', 'tiny'],
    ['/models/tiny-chat.gguf', 'tiny-chat'],
  ])('names %s %s', (reference, name) => {
    expect(servedModelName(parseModelReference(reference))).toBe(name);
  });
});

describe('filesForQuant', () => {
  it('matches the quantization as a whole word, case-insensitively, and skips projectors', () => {
    const files = [
      'README.md',
      'qwen2.5-0.5b-instruct-q4_k_m.gguf',
      'qwen2.5-0.5b-instruct-q4_k_s.gguf',
      'mmproj-q4_k_m.gguf',
      'Model.Q4_K.gguf',
    ];
    expect(filesForQuant(files, 'Q4_K_M')).toEqual(['qwen2.5-0.5b-instruct-q4_k_m.gguf']);
    expect(filesForQuant(files, 'q4_k')).toEqual(['Model.Q4_K.gguf']);
    expect(filesForQuant(files, 'Q8_0')).toEqual([]);
  });
});

describe('findLocalModel', () => {
  it('finds a pulled hf quantization in the models folder without the network', () => {
    const modelsDir = mkdtempSync(join(tmpdir(), 'chatwire-models-'));
    const reference = parseModelReference('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M');
    expect(findLocalModel(reference, modelsDir)).toBeUndefined();
    const folder = join(modelsDir, 'huggingface', 'Qwen', 'Qwen2.5-0.5B-Instruct-GGUF');
    mkdirSync(folder, { recursive: true });
    // An unfinished pull is not a model.
    writeFileSync(join(folder, 'qwen2.5-0.5b-instruct-q4_k_m.gguf.partial'), 'GGUF');
    expect(findLocalModel(reference, modelsDir)).toBeUndefined();
    writeFileSync(join(folder, 'qwen2.5-0.5b-instruct-q4_k_m.gguf'), 'GGUF');
    expect(findLocalModel(reference, modelsDir)).toBe(join(folder, 'qwen2.5-0.5b-instruct-q4_k_m.gguf'));
  });
});
