/**
 * Cuts streamed Markdown into segments that are rendered on their own and never change again, so a reply costs
 * the same per token at 100 kB as at 1 kB. The cuts depend only on the text, never on how it was chunked:
 * streaming and a one-shot render of the same text produce the same segments, hence the same DOM.
 *
 * A segment ends
 * - before a non-blank line at column 0 that follows a blank line (indented lines after a blank line are list
 *   continuations or indented paragraphs and stay in their block);
 * - before a fence opening at column 0, and after the closing fence of a fence that opened at column 0;
 * - once it is SEGMENT_LIMIT characters long, at the next line of a plain paragraph, sentence end inside one, or
 *   item of the same list. Such a segment is a continuation (`cont`). One DOMPurify pass over a 30 kB paragraph
 *   takes some 100 ms; over 1.2 kB, 1 to 2 ms.
 * Nothing is cut inside a fenced code block, and tables, block quotes and HTML are not cut for length.
 *
 * Where this differs from parsing the whole reply at once: a loose list whose items are separated by blank
 * lines becomes one list per item (tight, so no <p> in the items; an ordered one keeps its numbers through
 * `start`); a reference link defined in another segment stays unresolved text; a long paragraph or list is
 * several paragraphs or lists, and emphasis or a link spanning a cut stays literal (code spans are never cut);
 * an HTML block of the kind that spans blank lines (<pre>, <script>…) is cut at them, but HTML is shown as text
 * anyway. A fence indented by 1 to 3 spaces is taken for a top-level one, so one left open in a list item keeps
 * everything after it in one segment until a closing fence comes.
 */
export interface Segment {
  text: string;
  /** Cut for length: it continues the previous segment's paragraph or list. */
  cont: boolean;
}

export interface OpenFence {
  /** The open segment's text before the fence's opening line: ordinary Markdown. */
  before: string;
  /** Offset in `tail` where the code starts. */
  body: number;
}

export const SEGMENT_LIMIT = 1200;
// With no sentence end in sight, a plain paragraph is cut at any word boundary past this length.
const HARD_LIMIT = 4 * SEGMENT_LIMIT;

const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const LIST_ITEM = /^(?:([-+*])|\d{1,9}([.)]))(?:[ \t]|$)/;
const HEADING = /^#{1,6}(?:[ \t]|$)/;
const LETTER = /\p{L}/u;
const BLANK = /^[ \t]*$/;

interface Fence {
  char: string;
  length: number;
  /** Opened at column 0: its closing line ends the segment. */
  top: boolean;
}

/** A paragraph line that cannot be anything else: it starts with a letter and has no table pipe. */
function isPlain(line: string): boolean {
  return LETTER.test(line.charAt(0)) && !line.includes('|');
}

function ticksIn(line: string): number {
  let count = 0;
  for (let at = line.indexOf('`'); at !== -1; at = line.indexOf('`', at + 1)) count++;
  return count;
}

export class BlockSplitter {
  private block = '';
  private line = '';
  private cont = false;
  private content = false;
  private blank = false;
  private fence: Fence | null = null;
  private fenceBefore = '';
  private fenceBody = -1;
  /** The previous line is a plain paragraph line, or something a paragraph may follow without a blank line. */
  private paraNext = true;
  private listMarker = '';
  /** Backticks in the segment's complete lines outside fences: odd means a code span may be open. */
  private ticks = 0;
  private scanned = 0;
  private lineTicks = 0;
  private lineHasPipe = false;

  /** Consumes the next piece of the stream; returns the segments it finished. Work is O(text.length). */
  push(text: string): Segment[] {
    const done: Segment[] = [];
    let at = 0;
    while (at < text.length) {
      if (this.line === '') this.startLine(text.charAt(at), done);
      const newline = text.indexOf('\n', at);
      const end = newline === -1 ? text.length : newline + 1;
      this.line += text.slice(at, end);
      if (this.fence === null && this.block.length + this.line.length >= SEGMENT_LIMIT) this.scanLine(done);
      if (newline !== -1) this.takeLine(done);
      at = end;
    }
    return done;
  }

  /** Ends the stream: the partial line counts as a complete line, and an unclosed fence is closed. */
  end(): Segment[] {
    const done: Segment[] = [];
    if (this.line !== '') this.takeLine(done);
    this.fence = null;
    this.finish(done, false);
    return done;
  }

  /** The open segment: its complete lines and the partial last line. */
  get tail(): string {
    return this.block + this.line;
  }

  get openFence(): OpenFence | null {
    return this.fence === null ? null : { before: this.fenceBefore, body: this.fenceBody };
  }

  /** Cheaper than `tail.length`, which would flatten the string. */
  get tailLength(): number {
    return this.block.length + this.line.length;
  }

  private startLine(first: string, done: Segment[]): void {
    if (this.fence === null && this.blank && this.content && !' \t\r\n'.includes(first)) {
      this.finish(done, false);
    }
  }

  /** Looks for a sentence end to cut at inside a long plain paragraph line, from where the last scan stopped. */
  private scanLine(done: Segment[]): void {
    const line = this.line;
    if (!(this.paraNext && isPlain(line.charAt(0)))) return;
    let at = this.scanned;
    for (; at < line.length && !this.lineHasPipe; at++) {
      const char = line.charAt(at);
      if (char === '`') this.lineTicks++;
      else if (char === '|') this.lineHasPipe = true;
      else if (at >= 2 && this.cutsAt(line, at) && LETTER.test(char)) {
        this.block += line.slice(0, at);
        this.content = true;
        this.finish(done, true);
        this.line = line.slice(at);
        this.scanned = 0;
        this.lineTicks = 0;
        this.scanLine(done);
        return;
      }
    }
    this.scanned = at;
  }

  private cutsAt(line: string, at: number): boolean {
    const length = this.block.length + at;
    if (length < SEGMENT_LIMIT || (this.ticks + this.lineTicks) % 2 !== 0) return false;
    const before = line.charAt(at - 1);
    if ('。！？'.includes(before)) return true;
    if (before !== ' ' && before !== '\t') return false;
    return '.!?:;'.includes(line.charAt(at - 2)) || length >= HARD_LIMIT;
  }

  private takeLine(done: Segment[]): void {
    const raw = this.line;
    const line = raw.endsWith('\r\n') ? raw.slice(0, -2) : raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    this.line = '';
    this.scanned = 0;
    this.lineTicks = 0;
    this.lineHasPipe = false;
    const fence = this.fence;
    if (fence !== null) {
      this.block += raw;
      const close = FENCE_CLOSE.exec(line);
      if (close?.[1]?.startsWith(fence.char) && close[1].length >= fence.length) {
        this.fence = null;
        this.paraNext = true;
        if (fence.top) this.finish(done, false);
      }
      return;
    }
    if (BLANK.test(line)) {
      this.block += raw;
      this.blank = true;
      return;
    }
    const open = FENCE_OPEN.exec(line);
    const opens = open !== null && !(open[2]?.startsWith('`') && open[3]?.includes('`'));
    const plain = isPlain(line);
    const item = LIST_ITEM.exec(line);
    const marker = item ? (item[1] ?? item[2] ?? '') : '';
    if (opens && open[1] === '') this.finish(done, false);
    else if (this.block.length >= SEGMENT_LIMIT && this.ticks % 2 === 0) {
      if ((plain && this.paraNext) || (marker !== '' && marker === this.listMarker)) this.finish(done, true);
    }
    if (opens) {
      this.fence = { char: open[2]?.charAt(0) ?? '`', length: open[2]?.length ?? 3, top: open[1] === '' };
      this.fenceBefore = this.block;
      this.fenceBody = this.block.length + raw.length;
    } else {
      this.ticks += ticksIn(line);
    }
    if (marker !== '') this.listMarker = marker;
    this.paraNext = plain || HEADING.test(line);
    this.block += raw;
    this.content = true;
    this.blank = false;
  }

  private finish(done: Segment[], cont: boolean): void {
    if (this.content) done.push({ text: this.block, cont: this.cont });
    this.block = '';
    this.cont = cont;
    this.content = false;
    this.blank = false;
    this.ticks = 0;
    this.listMarker = '';
    this.paraNext = true;
  }
}

/** Splits a whole text the way streaming it would. */
export function splitAll(markdown: string): Segment[] {
  const splitter = new BlockSplitter();
  return [...splitter.push(markdown), ...splitter.end()];
}
