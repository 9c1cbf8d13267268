import { describe, expect, it } from 'vitest';
import { SseDecoder, SseError, type SseEvent, type SseItem } from './sse-decoder.js';

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Decodes every piece and throws the first failure, so tests read as "this input decodes to that". */
function decodeAll(pieces: Buffer[], limit = 1024): SseEvent[] {
  const decoder = new SseDecoder(limit);
  const items = [...pieces.flatMap((piece) => decoder.push(piece)), ...decoder.end()];
  return items.map((item) => {
    if (item.error) throw item.error;
    return item;
  });
}

const decodeText = (text: string, limit?: number) => decodeAll([utf8(text)], limit);

// Every rule at once, with all three line ends, so splitting it anywhere exercises each of them.
const MIXED = [
  '\ufeff: comment\n',
  'data: {"content":"héllo 日本 🙂"}\r\n\r\n',
  'event: update\rid: 7\rdata: a\rdata:b\r\r',
  'data\n: between\ndata:  two spaces\n\n',
  'retry: 10\r\nevent: ignored\r\n\r\n',
  'data: x\r\ndata: y\r\n\r\n',
  'data: [DONE]\r\n\r\n',
].join('');
const MIXED_EVENTS: SseEvent[] = [
  { data: '{"content":"héllo 日本 🙂"}' },
  { event: 'update', id: '7', data: 'a\nb' },
  { id: '7', data: '\n two spaces' },
  { id: '7', data: 'x\ny' },
  { id: '7', data: '[DONE]' },
];

describe('SseDecoder', () => {
  it('decodes data events, dropping one space after the colon', () => {
    expect(decodeText('data: {"a":1}\n\ndata:{"b":2}\n\ndata:  c\n\n')).toEqual([
      { data: '{"a":1}' },
      { data: '{"b":2}' },
      { data: ' c' },
    ]);
  });

  it('joins multi-line data with \\n', () => {
    expect(decodeText('data: a\ndata: b\ndata:\ndata\n\n')).toEqual([{ data: 'a\nb\n\n' }]);
  });

  it('reads event and id, and keeps the last id for later events as the spec does', () => {
    expect(decodeText('event: ping\nid: 1\ndata: x\n\ndata: y\n\nid\ndata: z\n\n')).toEqual([
      { event: 'ping', id: '1', data: 'x' },
      { id: '1', data: 'y' },
      { data: 'z' },
    ]);
  });

  it('resets the event type after each dispatch', () => {
    expect(decodeText('event: a\ndata: 1\n\ndata: 2\n\n')).toEqual([
      { event: 'a', data: '1' },
      { data: '2' },
    ]);
  });

  it('ignores an id containing NUL, and retry and unknown fields', () => {
    expect(decodeText('id: 1\n\nid: a\0b\nretry: 5\nfoo: bar\nDATA: no\ndata: x\n\n')).toEqual([
      { id: '1', data: 'x' },
    ]);
  });

  it('ignores comments, including comment-only blocks and keep-alives inside an event', () => {
    expect(decodeText(': ping\n\ndata: a\n: keep-alive\ndata: b\n\n:\n\n')).toEqual([{ data: 'a\nb' }]);
  });

  it('does not dispatch an event without data lines', () => {
    expect(decodeText('event: done\n\nid: 3\n\n\n\ndata: x\n\n')).toEqual([{ id: '3', data: 'x' }]);
  });

  it('accepts CRLF, lone CR and LF line ends, mixed', () => {
    expect(decodeText('data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\n')).toEqual([
      { data: 'a' },
      { data: 'b' },
      { data: 'c' },
      { data: 'd' },
    ]);
  });

  it('treats a CR ending one read and an LF starting the next as one line end', () => {
    // Read as two line ends, the LF would be a blank line and dispatch 'a' on its own.
    expect(decodeAll([utf8('data: a\r'), utf8('\ndata: b\r'), utf8('\n\r'), utf8('\n')])).toEqual([
      { data: 'a\nb' },
    ]);
    expect(decodeAll([utf8('data: a\r'), Buffer.alloc(0), utf8('\n\r\n')])).toEqual([{ data: 'a' }]);
  });

  it('treats a CR ending one read and a CR starting the next as two line ends', () => {
    expect(decodeAll([utf8('data: a\r'), utf8('\rdata: b\r\r')])).toEqual([{ data: 'a' }, { data: 'b' }]);
  });

  it('strips one BOM at the start of the stream only', () => {
    expect(decodeText('\ufeffdata: x\n\n')).toEqual([{ data: 'x' }]);
    expect(decodeAll([...utf8('\ufeffdata: x\n\n')].map((byte) => Buffer.from([byte])))).toEqual([
      { data: 'x' },
    ]);
    // A second BOM is part of the field name, which is then unknown.
    expect(decodeText('\ufeff\ufeffdata: x\n\ndata: y\n\n')).toEqual([{ data: 'y' }]);
    expect(decodeText('data: x\n\n\ufeffdata: y\n\n')).toEqual([{ data: 'x' }]);
  });

  it('passes [DONE] through as data', () => {
    expect(decodeText('data: {"a":1}\n\ndata: [DONE]\n\n')).toEqual([
      { data: '{"a":1}' },
      { data: '[DONE]' },
    ]);
  });

  it('decodes the same events however a stream is split into two reads', () => {
    const whole = utf8(MIXED);
    expect(decodeAll([whole])).toEqual(MIXED_EVENTS);
    for (let cut = 0; cut <= whole.length; cut++) {
      expect(decodeAll([whole.subarray(0, cut), whole.subarray(cut)]), `cut at ${cut}`).toEqual(MIXED_EVENTS);
    }
  });

  it('decodes the same events however a stream is split into three reads', () => {
    const whole = utf8('data: é🙂\r\n\r\ndata: a\rdata: 日\r\r');
    const expected = [{ data: 'é🙂' }, { data: 'a\n日' }];
    for (let a = 1; a < whole.length; a++) {
      for (let b = a; b < whole.length; b++) {
        const pieces = [whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)];
        expect(decodeAll(pieces), `cuts at ${a}, ${b}`).toEqual(expected);
      }
    }
  });

  it('decodes a stream delivered one byte per read', () => {
    expect(decodeAll([...utf8(MIXED)].map((byte) => Buffer.from([byte])))).toEqual(MIXED_EVENTS);
  });

  it('returns events as soon as their blank line arrives', () => {
    const decoder = new SseDecoder(1024);
    expect(decoder.push(utf8('data: a\n'))).toEqual([]);
    expect(decoder.push(utf8('\ndata: b\n'))).toEqual([{ data: 'a' }]);
    expect(decoder.push(utf8('\n'))).toEqual([{ data: 'b' }]);
    expect(decoder.end()).toEqual([]);
  });

  describe('end of stream', () => {
    it('is clean between events, after a comment or after a data-less field', () => {
      expect(decodeText('data: a\n\n: ping')).toEqual([{ data: 'a' }]);
      expect(decodeText('data: a\n\nevent: x\n')).toEqual([{ data: 'a' }]);
      expect(decodeText('')).toEqual([]);
    });

    it('discards an event cut before its blank line and reports the truncation', () => {
      for (const tail of ['data: b', 'data: b\n', 'data: b\r', 'data: b\r\n', 'data: b\ndata']) {
        const decoder = new SseDecoder(1024);
        expect(decoder.push(utf8(`data: a\n\n${tail}`))).toEqual([{ data: 'a' }]);
        const [item, ...rest] = decoder.end();
        expect(item?.error, JSON.stringify(tail)).toBeInstanceOf(SseError);
        expect(item?.error?.message).toMatch(/ended in the middle of an SSE event/);
        expect(rest).toEqual([]);
      }
    });

    it('accepts nothing after end()', () => {
      const decoder = new SseDecoder(1024);
      decoder.end();
      expect(decoder.push(utf8('data: a\n\n'))).toEqual([]);
      expect(decoder.end()).toEqual([]);
    });
  });

  describe('event size limit', () => {
    it('delivers the events before an oversized one, then the failure, then nothing', () => {
      const decoder = new SseDecoder(16);
      const items: SseItem[] = decoder.push(utf8(`data: ok\n\ndata: ${'x'.repeat(20)}\n\ndata: late\n\n`));
      expect(items).toHaveLength(2);
      expect(items[0]).toEqual({ data: 'ok' });
      expect(items[1]?.error).toBeInstanceOf(SseError);
      expect(items[1]?.error?.message).toMatch(/16-byte event limit/);
      expect(decoder.push(utf8('data: more\n\n'))).toEqual([]);
      expect(decoder.end()).toEqual([]);
    });

    it('rejects a line over the limit before its line end arrives', () => {
      const decoder = new SseDecoder(16);
      expect(decoder.push(utf8('data: 0123456789'))).toEqual([]);
      expect(decoder.push(utf8('a'))[0]?.error).toBeInstanceOf(SseError);
    });

    it('counts every field line of one event, across reads', () => {
      expect(() => decodeAll([utf8('data: 01234\ndata: 56'), utf8('789\n\n')], 16)).toThrow(SseError);
      expect(() => decodeAll([utf8('event: abcdefg\ndata: x\n\n')], 16)).toThrow(SseError);
    });

    it('allows an event of exactly the limit, and any number of such events', () => {
      const event = `data: ${'x'.repeat(10)}\n\n`;
      expect(decodeText(event.repeat(50), 16)).toHaveLength(50);
      expect(() => decodeText(`data: ${'x'.repeat(11)}\n\n`, 16)).toThrow(SseError);
    });

    it('does not carry keep-alive comments over from one event to the next', () => {
      expect(decodeText(': ping ping ping\n'.repeat(20).concat('data: x\n\n'), 16)).toEqual([{ data: 'x' }]);
    });
  });
});
