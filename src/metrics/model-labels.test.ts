import { describe, expect, it } from 'vitest';
import { ModelLabels, OTHER_MODEL } from './model-labels.js';

describe('model labels', () => {
  it('labels configured models under their configured spelling, a bare name and its :latest alike', () => {
    const labels = new ModelLabels(['llama3.2', 'qwen2.5:7b']);
    expect(labels.label('llama3.2')).toBe('llama3.2');
    expect(labels.label('llama3.2:latest')).toBe('llama3.2');
    expect(labels.label('LLAMA3.2')).toBe('llama3.2');
    expect(labels.label('qwen2.5:7b')).toBe('qwen2.5:7b');
  });

  it('maps a name nobody configured or listed to other, and no model to the empty label', () => {
    const labels = new ModelLabels(['llama3.2']);
    expect(labels.label('made-up-model-7f3a')).toBe(OTHER_MODEL);
    expect(labels.label('llama3.2:1b')).toBe(OTHER_MODEL);
    expect(labels.label(undefined)).toBe('');
  });

  it('re-reads the catalogue on a miss, at most once a second', () => {
    const catalogue = ['llama3.2'];
    let reads = 0;
    const labels = new ModelLabels([], () => {
      reads++;
      return catalogue;
    });
    expect(labels.label('llama3.2', 0)).toBe('llama3.2');
    catalogue.push('mistral:latest');
    expect(labels.label('mistral', 500)).toBe(OTHER_MODEL);
    expect(labels.label('unknown', 600)).toBe(OTHER_MODEL);
    expect(reads).toBe(1);
    expect(labels.label('mistral', 1000)).toBe('mistral:latest');
    expect(reads).toBe(2);
  });

  it('keeps at most 256 distinct labels, whatever the catalogues list', () => {
    const labels = new ModelLabels(Array.from({ length: 300 }, (_, i) => `model-${i}`));
    expect(labels.label('model-255')).toBe('model-255');
    expect(labels.label('model-256')).toBe(OTHER_MODEL);
  });
});
