import { describe, expect, it } from 'vitest';
import { formatBaseUrl, parseOllamaHost } from './parse-ollama-host.js';

const parse = (value: string) => formatBaseUrl(parseOllamaHost(value));

describe('parseOllamaHost', () => {
  it.each([
    ['127.0.0.1', 'http://127.0.0.1:11434'],
    ['localhost:11500', 'http://localhost:11500'],
    [':11500', 'http://127.0.0.1:11500'],
    ['0.0.0.0', 'http://127.0.0.1:11434'],
    ['http://gpu-box:11434/', 'http://gpu-box:11434'],
    ['http://gpu-box', 'http://gpu-box'],
    ['gpu-box', 'http://gpu-box:11434'],
    ['https://ollama.example.com', 'https://ollama.example.com'],
    ['http://proxy:8000/ollama/', 'http://proxy:8000/ollama'],
    ['[::1]:11434', 'http://[::1]:11434'],
  ])('reads %s as %s', (input, expected) => {
    expect(parse(input)).toBe(expected);
  });

  it('rejects other schemes and empty values', () => {
    expect(() => parse('ftp://x')).toThrow(/scheme/);
    expect(() => parse('  ')).toThrow(/empty/);
    expect(() => parse('http://')).toThrow();
  });
});
