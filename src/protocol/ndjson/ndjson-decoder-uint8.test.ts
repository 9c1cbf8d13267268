import { describe, expect, it } from 'vitest';
import { NdjsonDecoder } from './ndjson-decoder.js';

const whole = new TextEncoder().encode('{"content":"héllo 日本 🙂"}\n{"done":true}\n');

describe('NdjsonDecoder on plain Uint8Array input (the browser client)', () => {
  it('decodes lines split at every byte position, returning Uint8Array lines', () => {
    for (let cut = 1; cut < whole.length; cut++) {
      const decoder = new NdjsonDecoder<Uint8Array>(1024);
      const lines = [...decoder.push(whole.subarray(0, cut)), ...decoder.push(whole.subarray(cut))];
      expect(lines.map((line) => line.error ?? line.value)).toEqual([
        { content: 'héllo 日本 🙂' },
        { done: true },
      ]);
      for (const line of lines) {
        if (line.error) throw line.error;
        expect(Buffer.isBuffer(line.bytes)).toBe(false);
        expect(line.bytes).toBeInstanceOf(Uint8Array);
      }
    }
  });

  it('decodes one byte per read and an unterminated final line', () => {
    const decoder = new NdjsonDecoder<Uint8Array>(1024);
    const bytes = new TextEncoder().encode('{"a":"🙂"}\n{"b":1}');
    const lines = [...bytes].flatMap((byte) => decoder.push(Uint8Array.of(byte)));
    const last = decoder.end();
    expect([...lines, last].map((line) => line?.error ?? line?.value)).toEqual([{ a: '🙂' }, { b: 1 }]);
  });
});

describe('NdjsonDecoder on Buffer input (the server)', () => {
  it('returns zero-copy Buffer views when a line arrives in one read', () => {
    const input = Buffer.from(whole);
    const lines = new NdjsonDecoder(1024).push(input);
    for (const line of lines) {
      if (line.error) throw line.error;
      expect(Buffer.isBuffer(line.bytes)).toBe(true);
      expect(line.bytes.buffer).toBe(input.buffer);
    }
  });

  it('returns a Buffer for a line joined from several reads, and from end()', () => {
    const decoder = new NdjsonDecoder(1024);
    const [joined] = [...decoder.push(Buffer.from('{"a":')), ...decoder.push(Buffer.from('1}\n{"b"'))];
    if (!joined || joined.error) throw new Error('expected a line');
    expect(Buffer.isBuffer(joined.bytes)).toBe(true);
    expect(joined.bytes.toString()).toBe('{"a":1}\n');
    decoder.push(Buffer.from(':2}'));
    const last = decoder.end();
    if (!last || last.error) throw new Error('expected a final line');
    expect(Buffer.isBuffer(last.bytes)).toBe(true);
    expect(last.value).toEqual({ b: 2 });
  });
});
