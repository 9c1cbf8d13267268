import { describe, expect, it } from 'vitest';
import { encodeNdjson, NdjsonDecoder, NdjsonError, type NdjsonValue } from './ndjson-decoder.js';

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Decodes every piece and throws the first failure, so tests read as "this input decodes to that". */
function decodeAll(pieces: Buffer[], limit = 1024): NdjsonValue[] {
  const decoder = new NdjsonDecoder(limit);
  const lines = pieces.flatMap((piece) => decoder.push(piece));
  const last = decoder.end();
  if (last) lines.push(last);
  return lines.map((line) => {
    if (line.error) throw line.error;
    return line;
  });
}

describe('NdjsonDecoder', () => {
  it('returns each complete line with its exact bytes', () => {
    const lines = decodeAll([utf8('{"a":1}\n{"b":"\\u003c"}\n')]);
    expect(lines.map((line) => line.value)).toEqual([{ a: 1 }, { b: '<' }]);
    expect(lines.map((line) => line.bytes.toString())).toEqual(['{"a":1}\n', '{"b":"\\u003c"}\n']);
  });

  it('reassembles a line split across reads at every byte position', () => {
    const whole = utf8('{"content":"héllo 日本 🙂"}\n{"done":true}\n');
    for (let cut = 1; cut < whole.length; cut++) {
      const lines = decodeAll([whole.subarray(0, cut), whole.subarray(cut)]);
      expect(Buffer.concat(lines.map((line) => line.bytes)).equals(whole)).toBe(true);
      expect(lines[0]?.value).toEqual({ content: 'héllo 日本 🙂' });
    }
  });

  it('reassembles a line delivered one byte per read', () => {
    const whole = utf8('{"content":"🙂"}\n');
    const lines = decodeAll([...whole].map((byte) => Buffer.from([byte])));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.value).toEqual({ content: '🙂' });
  });

  it('keeps a partial tail until its newline arrives', () => {
    const decoder = new NdjsonDecoder(1024);
    expect(decoder.push(utf8('{"a":'))).toEqual([]);
    expect(decoder.push(utf8('1}\n{"b"'))).toMatchObject([{ value: { a: 1 } }]);
    expect(decoder.push(utf8(':2}\n'))).toMatchObject([{ value: { b: 2 } }]);
  });

  it('decodes an unterminated final line at the end', () => {
    expect(decodeAll([utf8('{"a":1}')]).map((line) => line.value)).toEqual([{ a: 1 }]);
  });

  it('skips blank lines', () => {
    expect(decodeAll([utf8('\n{"a":1}\n\n')]).map((line) => line.value)).toEqual([{ a: 1 }]);
  });

  it('rejects a line that is not JSON, quoting it', () => {
    expect(() => decodeAll([utf8('{"a":1}\nnot json\n')])).toThrow(/not JSON: "not json"/);
  });

  it('delivers the lines before a bad one, then the failure, then nothing', () => {
    const decoder = new NdjsonDecoder(1024);
    const lines = decoder.push(utf8('{"a":1}\nnot json\n{"b":2}\n'));
    expect(lines[0]?.error).toBeUndefined();
    expect(lines[1]?.error).toBeInstanceOf(NdjsonError);
    expect(lines).toHaveLength(2);
    expect(decoder.push(utf8('{"c":3}\n'))).toEqual([]);
    expect(decoder.end()).toBeUndefined();
  });

  it('rejects a line over the limit, even before its newline arrives', () => {
    expect(() => decodeAll([utf8('{"a":"0123456789abcdef"')], 16)).toThrow(NdjsonError);
    expect(() => decodeAll([utf8('{"a":"0123456789abcdef"}\n')], 16)).toThrow(/16-byte line limit/);
    expect(() => decodeAll([utf8('{"a":"0123456"}\n')], 16)).not.toThrow();
  });

  it('rejects a line that crosses the limit across reads', () => {
    expect(() => decodeAll([utf8('{"a":"01234'), utf8('56789abcdef"}\n')], 16)).toThrow(/line limit/);
  });

  it('rejects an unterminated final line that is not JSON', () => {
    expect(() => decodeAll([utf8('{"a":1}\n{"b"')])).toThrow(/not JSON/);
  });
});

describe('encodeNdjson', () => {
  it('writes one compact object per line', () => {
    expect(encodeNdjson({ error: 'x' })).toBe('{"error":"x"}\n');
  });
});
