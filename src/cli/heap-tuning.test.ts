import { beforeEach, describe, expect, it, vi } from 'vitest';

const setFlagsFromString = vi.fn();
vi.mock('node:v8', () => ({ setFlagsFromString }));
const { tuneHeapForManyStreams } = await import('./heap-tuning.js');

describe('tuneHeapForManyStreams', () => {
  beforeEach(() => setFlagsFromString.mockClear());

  it('limits how far the old generation grows between full collections', () => {
    tuneHeapForManyStreams(['--enable-source-maps']);
    expect(setFlagsFromString).toHaveBeenCalledWith('--heap-growing-percent=10');
  });

  it('leaves a value given to node alone', () => {
    tuneHeapForManyStreams(['--heap-growing-percent=50']);
    tuneHeapForManyStreams(['--heap_growing_percent', '50']);
    expect(setFlagsFromString).not.toHaveBeenCalled();
  });
});
