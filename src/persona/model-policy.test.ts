import { describe, expect, it } from 'vitest';
import { assertModelAllowed, isModelAllowed } from './model-policy.js';

describe('model policy', () => {
  it('treats a bare name and its :latest tag as the same model', () => {
    expect(isModelAllowed('llama3.2:latest', ['llama3.2'])).toBe(true);
    expect(isModelAllowed('llama3.2', ['llama3.2:latest'])).toBe(true);
    expect(isModelAllowed('llama3.2:1b', ['llama3.2'])).toBe(false);
  });

  it('allows anything with *', () => {
    expect(isModelAllowed('whatever', '*')).toBe(true);
  });

  it('refuses with 400 naming the allowed models', () => {
    expect(() => assertModelAllowed('x', ['a', 'b'])).toThrow(
      "model 'x' is not allowed; allowed models: a, b",
    );
  });
});
