import type { Frame } from './generation-types.js';

/**
 * Several frames as one write. NDJSON lines from one upstream read sit side by side in its buffer: they
 * become one view of it, without a copy.
 */
export function joinFrames(frames: Frame[]): Frame {
  const first = frames[0];
  if (first === undefined) return '';
  if (typeof first === 'string') return frames.join('');
  let end = first.byteOffset + first.length;
  for (let index = 1; index < frames.length; index++) {
    const frame = frames[index] as Frame;
    if (typeof frame === 'string' || frame.buffer !== first.buffer || frame.byteOffset !== end) {
      return Buffer.concat(frames.map((each) => (typeof each === 'string' ? Buffer.from(each) : each)));
    }
    end += frame.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}
