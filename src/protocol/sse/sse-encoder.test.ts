import { describe, expect, it } from 'vitest';
import { SseDecoder } from './sse-decoder.js';
import { encodeSseComment, encodeSseData, SSE_DONE } from './sse-encoder.js';

const decode = (text: string) => {
  const decoder = new SseDecoder(1024);
  return [...decoder.push(Buffer.from(text, 'utf8')), ...decoder.end()];
};

describe('encodeSseData', () => {
  it('writes one data line and a blank line', () => {
    expect(encodeSseData('{"a":1}')).toBe('data: {"a":1}\n\n');
  });

  it('turns every CR, LF and CRLF into a new data line', () => {
    expect(encodeSseData('a\nb\r\nc\rd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeSseData('')).toBe('data: \n\n');
  });

  it('cannot be made to emit a second event or another field', () => {
    const hostile = '{"a":1}\n\nevent: error\rid: 7\r\n\r\ndata: injected';
    expect(decode(encodeSseData(hostile))).toEqual([
      { data: '{"a":1}\n\nevent: error\nid: 7\n\ndata: injected' },
    ]);
  });

  it('round-trips leading spaces and non-ASCII text', () => {
    expect(decode(encodeSseData('  indented 日本 🙂'))).toEqual([{ data: '  indented 日本 🙂' }]);
  });
});

describe('encodeSseComment', () => {
  it('writes a comment line that readers ignore', () => {
    expect(encodeSseComment('ping')).toBe(': ping\n\n');
    expect(decode(`${encodeSseComment('ping')}${encodeSseData('x')}`)).toEqual([{ data: 'x' }]);
  });

  it('strips line breaks so the text cannot leave the comment', () => {
    expect(encodeSseComment('a\r\nb\nc\rd')).toBe(': abcd\n\n');
    expect(decode(encodeSseComment('x\ndata: injected'))).toEqual([]);
  });
});

describe('SSE_DONE', () => {
  it('is the OpenAI end marker, which reads back as plain data', () => {
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
    expect(decode(SSE_DONE)).toEqual([{ data: '[DONE]' }]);
  });
});
