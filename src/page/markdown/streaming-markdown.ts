import { BlockSplitter, type Segment } from './block-splitter';
import { installCopyButtons } from './copy-buttons';
import { copyButton, renderFragment } from './render-fragment';
import { renderSegments } from './render-segment';

export interface StreamingMarkdownOptions {
  /** Runs `flush` once, later; the default waits for the next animation frame. */
  schedule?: (flush: () => void) => void;
}

// A burst (a stall upstream, a tab brought back to the front) is rendered over several frames, not in one task.
const MAX_CHARS_PER_FLUSH = 8192;

interface OpenFenceView {
  text: Text;
  /** Characters of the fence's code already in `text`. */
  shown: number;
  pre: HTMLElement;
}

/**
 * Renders a reply as it streams in: finished segments (see BlockSplitter) are rendered once and never touched
 * again, and only the open segment is rendered again, at most once per flush. An open fenced code block is
 * shown as plain text that only grows, until it closes.
 */
export class StreamingMarkdown {
  readonly #schedule: (flush: () => void) => void;
  readonly #splitter = new BlockSplitter();
  readonly #tail = document.createElement('div');
  readonly #live = document.createElement('div');
  #fence: OpenFenceView | null = null;
  #text = '';
  #pending = '';
  #scheduled = false;
  #finished = false;
  /** Length of the open segment's Markdown last rendered into #live: it only grows until the segment ends. */
  #rendered = 0;

  constructor(target: HTMLElement, options: StreamingMarkdownOptions = {}) {
    this.#schedule = options.schedule ?? ((flush) => requestAnimationFrame(() => flush()));
    this.#tail.className = 'md-tail';
    this.#live.className = 'md-live';
    this.#tail.append(this.#live);
    target.replaceChildren(this.#tail);
    installCopyButtons(target);
  }

  /** Everything appended so far. */
  get text(): string {
    return this.#text;
  }

  append(delta: string): void {
    if (this.#finished) throw new Error('StreamingMarkdown: append() after finish()');
    if (delta === '') return;
    this.#text += delta;
    this.#pending += delta;
    this.#request();
  }

  /** Renders everything now, the open segment as final Markdown: an unclosed fence becomes a code block. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#update(this.#pending);
    this.#pending = '';
    this.#freeze(this.#splitter.end());
    this.#tail.remove();
  }

  #request(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#finished) return;
    let fresh = this.#pending;
    this.#pending = '';
    if (fresh.length > MAX_CHARS_PER_FLUSH) {
      const code = fresh.charCodeAt(MAX_CHARS_PER_FLUSH - 1);
      const cut = code >= 0xd800 && code < 0xdc00 ? MAX_CHARS_PER_FLUSH - 1 : MAX_CHARS_PER_FLUSH;
      this.#pending = fresh.slice(cut);
      fresh = fresh.slice(0, cut);
      this.#request();
    }
    this.#update(fresh);
    this.#renderTail(fresh);
  }

  #update(fresh: string): void {
    this.#freeze(this.#splitter.push(fresh));
  }

  #freeze(segments: Segment[]): void {
    if (segments.length === 0) return;
    this.#tail.before(...renderSegments(segments));
    this.#live.replaceChildren();
    this.#rendered = 0;
    this.#closeFenceView();
  }

  #renderTail(fresh: string): void {
    const splitter = this.#splitter;
    const fence = splitter.openFence;
    const markdownLength = fence ? fence.before.length : splitter.tailLength;
    if (markdownLength !== this.#rendered) {
      this.#rendered = markdownLength;
      this.#live.replaceChildren(renderFragment(fence ? fence.before : splitter.tail));
    }
    if (fence === null) {
      this.#closeFenceView();
      return;
    }
    const view = this.#fence ?? this.#openFenceView();
    const total = splitter.tailLength - fence.body;
    const missing = total - view.shown;
    if (missing <= 0) return;
    // Usually the new code is exactly the end of this flush's text: no need to flatten the whole tail.
    view.text.appendData(
      missing <= fresh.length
        ? fresh.slice(fresh.length - missing)
        : splitter.tail.slice(fence.body + view.shown),
    );
    view.shown = total;
  }

  #openFenceView(): OpenFenceView {
    const pre = document.createElement('pre');
    pre.className = 'md-open-fence';
    const code = document.createElement('code');
    const text = document.createTextNode('');
    code.append(text);
    pre.append(copyButton(), code);
    this.#tail.append(pre);
    this.#fence = { pre, text, shown: 0 };
    return this.#fence;
  }

  #closeFenceView(): void {
    this.#fence?.pre.remove();
    this.#fence = null;
  }
}
