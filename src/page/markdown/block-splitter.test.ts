import { describe, expect, it } from 'vitest';
import { BlockSplitter, SEGMENT_LIMIT, type Segment, splitAll } from './block-splitter';

const texts = (segments: Segment[]) => segments.map((segment) => segment.text);

function streamed(text: string, sizes: (index: number) => number): Segment[] {
  const splitter = new BlockSplitter();
  const segments: Segment[] = [];
  for (let at = 0, index = 0; at < text.length; index++) {
    const size = sizes(index);
    segments.push(...splitter.push(text.slice(at, at + size)));
    at += size;
  }
  return [...segments, ...splitter.end()];
}

/** mulberry32: chunkings that are random but the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sentence = (index: number) => `Sentence ${index} has \`code\` and **bold** words in it. `;
const longParagraphLine = Array.from({ length: 400 }, (_, index) => sentence(index)).join('');
const longWrappedParagraph = Array.from({ length: 400 }, (_, index) => `line ${index} of a paragraph`).join(
  '\n',
);
const longList = Array.from({ length: 300 }, (_, index) => `${index + 1}. item ${index} text`).join('\n');
const longCode = `\`\`\`js\n${'const x = 1;\n\n'.repeat(3000)}\`\`\`\n`;

const documents = [
  '# Title\n\nA paragraph\nwith two lines.\n\n- a\n- b\n\n  continued\n- c\n\n```ts\nconst a = 1;\n\nconst b = 2;\n```\nAfter.\n',
  '> quote\n> more\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~~~\n```\ninside\n```\n~~~~\n\n1. one\n   ```\n   code\n   ```\n2. two\n',
  'no newline at the end',
  'CRLF line\r\n\r\nnext\r\n```\r\ncode\r\n```\r\n',
  '```\nunclosed fence\n\nstill code',
  longParagraphLine,
  `Intro.\n\n${longWrappedParagraph}\n\n${longList}\n\n${longCode}\nEnd.`,
  `${'word '.repeat(3000)}\n\n${'x'.repeat(10_000)}`,
];

describe('BlockSplitter', () => {
  it('ends a block at a blank line followed by a line at column 0', () => {
    expect(texts(splitAll('a\nb\n\nc\n'))).toEqual(['a\nb\n\n', 'c\n']);
  });

  it('keeps indented lines after a blank line in their block', () => {
    expect(texts(splitAll('- a\n\n  b\n\n    code\n- c\n\nd'))).toEqual([
      '- a\n\n  b\n\n    code\n- c\n\n',
      'd',
    ]);
  });

  it('never splits inside a fence, and a fence at column 0 is a block of its own', () => {
    expect(texts(splitAll('para\n```js\nx\n\ny\n```\nafter\n'))).toEqual([
      'para\n',
      '```js\nx\n\ny\n```\n',
      'after\n',
    ]);
  });

  it('closes a fence only with the same character, at least as long, and nothing after it', () => {
    expect(texts(splitAll('~~~~\n```\n\nz\n~~~\n~~~~~ x\n~~~~~\nq'))).toEqual([
      '~~~~\n```\n\nz\n~~~\n~~~~~ x\n~~~~~\n',
      'q',
    ]);
  });

  it('does not take a backtick line with a backtick in its info string, or one indented by 4, for a fence', () => {
    expect(texts(splitAll('``` a`b\nc\n\nd'))).toEqual(['``` a`b\nc\n\n', 'd']);
    expect(texts(splitAll('    ```\nc\n\nd'))).toEqual(['    ```\nc\n\n', 'd']);
  });

  it('keeps an indented fence in its list item, blank lines and all', () => {
    expect(texts(splitAll('1. a\n   ```\n   x\n\ny\n   ```\n2. b\n\nc'))).toEqual([
      '1. a\n   ```\n   x\n\ny\n   ```\n2. b\n\n',
      'c',
    ]);
  });

  it('reports the open fence and the text before it', () => {
    const splitter = new BlockSplitter();
    splitter.push('- item\n  ```py\n  print(1)\n  pri');
    expect(splitter.openFence).toEqual({ before: '- item\n', body: '- item\n  ```py\n'.length });
    expect(splitter.tail).toBe('- item\n  ```py\n  print(1)\n  pri');
    splitter.push('nt(2)\n  ```\n');
    expect(splitter.openFence).toBeNull();
  });

  it('renders an unclosed fence to the end, and a partial last line as a line', () => {
    const splitter = new BlockSplitter();
    expect(texts(splitter.push('text\n\n```\ncode\n\nmore'))).toEqual(['text\n\n']);
    expect(texts(splitter.end())).toEqual(['```\ncode\n\nmore']);
    expect(splitter.openFence).toBeNull();
  });

  it('cuts a long paragraph line at a sentence end, outside code spans', () => {
    const segments = splitAll(longParagraphLine);
    expect(segments.length).toBeGreaterThan(5);
    expect(segments.map((segment) => segment.text).join('')).toBe(longParagraphLine);
    for (const [index, segment] of segments.entries()) {
      expect(segment.cont).toBe(index > 0);
      expect(segment.text.length).toBeLessThan(SEGMENT_LIMIT + 100);
      expect(segment.text.split('`').length % 2).toBe(1);
      if (index > 0) expect(segment.text).toMatch(/^Sentence \d+ /);
    }
  });

  it('cuts a long paragraph whatever block came before it', () => {
    for (const before of ['```\ncode\n```\n\n', '## Heading\n\n', '| a |\n|---|\n| b |\n\n', '- item\n\n']) {
      const segments = splitAll(before + longParagraphLine);
      expect(segments.length, before).toBeGreaterThan(5);
      expect(Math.max(...segments.map((segment) => segment.text.length)), before).toBeLessThan(
        SEGMENT_LIMIT + 100,
      );
    }
  });

  it('cuts a long wrapped paragraph and a long list at line starts, and keeps a long code block whole', () => {
    const segments = splitAll(`${longWrappedParagraph}\n\n${longList}\n\n${longCode}`);
    const code = segments.filter((segment) => segment.text.startsWith('```'));
    expect(texts(code)).toEqual([longCode]);
    const list = segments.filter((segment) => /^\d+\. /.test(segment.text));
    expect(list.length).toBeGreaterThan(2);
    expect(list.slice(1).every((segment) => segment.cont)).toBe(true);
    const paragraph = segments.filter((segment) => segment.text.startsWith('line '));
    expect(paragraph.length).toBeGreaterThan(2);
  });

  it('does not cut a long table', () => {
    const table = `| a | b |\n|---|---|\n${'| cell | cell |\n'.repeat(500)}`;
    expect(texts(splitAll(table))).toEqual([table]);
  });

  it('cuts the same way however the text is chunked', () => {
    for (const [index, text] of documents.entries()) {
      const whole = splitAll(text);
      expect(whole.map((segment) => segment.text).join(''), `document ${index}`).toBe(text);
      expect(
        streamed(text, () => 1),
        `document ${index}, 1 char`,
      ).toEqual(whole);
      const next = random(index + 1);
      expect(
        streamed(text, () => 1 + Math.floor(next() * 8)),
        `document ${index}, 1-8 chars`,
      ).toEqual(whole);
      expect(
        streamed(text, () => 1 + Math.floor(next() * 3000)),
        `document ${index}, 1-3000 chars`,
      ).toEqual(whole);
    }
  });

  it('does work linear in the text, one character at a time', () => {
    const huge = [
      `${'plain words '.repeat(40_000)}`,
      `\`\`\`\n${'code '.repeat(80_000)}`,
      longCode.repeat(10),
    ];
    const started = performance.now();
    for (const text of huge) streamed(text, () => 1);
    // Quadratic work on these 400 kB texts would take minutes.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
