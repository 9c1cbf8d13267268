import { splitAll } from './block-splitter';
import { installCopyButtons } from './copy-buttons';
import { renderSegments } from './render-segment';

/** Renders a whole stored reply, cut into the same segments as when it was streamed, so it looks the same. */
export function renderMarkdown(target: HTMLElement, markdown: string): void {
  installCopyButtons(target);
  target.replaceChildren(...renderSegments(splitAll(markdown)));
}

/** How long one slice of a progressive render may hold the main thread. */
const SLICE_MS = 8;
const SEGMENTS_PER_STEP = 4;

/**
 * renderMarkdown a few segments at a time, one slice per animation frame: a stored 100 kB reply costs some
 * hundreds of milliseconds to render, which in one task would freeze the page while a conversation opens.
 * `data-rendering` is on the target until the last segment is in. Returns a function that stops it.
 */
export function renderMarkdownProgressively(target: HTMLElement, markdown: string): () => void {
  installCopyButtons(target);
  target.replaceChildren();
  const segments = splitAll(markdown);
  let next = 0;
  let stopped = false;
  target.dataset.rendering = '';
  const slice = () => {
    if (stopped) return;
    const started = performance.now();
    // A few segments at a time, sanitized together, until the slice's time is up.
    while (next < segments.length && performance.now() - started < SLICE_MS) {
      target.append(...renderSegments(segments.slice(next, next + SEGMENTS_PER_STEP)));
      next += SEGMENTS_PER_STEP;
    }
    if (next < segments.length) requestAnimationFrame(slice);
    else delete target.dataset.rendering;
  };
  slice();
  return () => {
    stopped = true;
  };
}
