import { beforeEach, describe, expect, it, vi } from 'vitest';

const setFlagsFromString = vi.fn();
vi.mock('node:v8', () => ({ setFlagsFromString }));
const { letYoungGenerationGrow, tuneHeapForManyStreams } = await import('./heap-tuning.js');

describe('tuneHeapForManyStreams', () => {
  beforeEach(() => setFlagsFromString.mockClear());

  it('limits old-generation growth between full collections, and young-generation growth', () => {
    tuneHeapForManyStreams(['--enable-source-maps']);
    expect(setFlagsFromString.mock.calls).toEqual([
      ['--heap-growing-percent=50'],
      ['--semi-space-growth-factor=1'],
    ]);
  });

  it('leaves values given to node alone', () => {
    tuneHeapForManyStreams(['--heap-growing-percent=50', '--max-semi-space-size=8']);
    tuneHeapForManyStreams(['--heap_growing_percent', '50', '--semi_space_growth_factor=2']);
    tuneHeapForManyStreams(['--heap-growing-percent=50', '--min-semi-space-size=4']);
    expect(setFlagsFromString).not.toHaveBeenCalled();
  });

  it('lets the young generation grow again once started, only if it held it', () => {
    letYoungGenerationGrow();
    tuneHeapForManyStreams(['--heap-growing-percent=50', '--max-semi-space-size=8']);
    setFlagsFromString.mockClear();
    letYoungGenerationGrow();
    expect(setFlagsFromString).not.toHaveBeenCalled();
    tuneHeapForManyStreams([]);
    letYoungGenerationGrow();
    letYoungGenerationGrow();
    expect(setFlagsFromString.mock.calls).toEqual([
      ['--heap-growing-percent=50'],
      ['--semi-space-growth-factor=1'],
      ['--semi-space-growth-factor=2'],
    ]);
  });
});
