import type { Segment } from './block-splitter';
import { markdownToHtml } from './markdown-html';
import { sanitized } from './render-fragment';

/** Each segment in its own block element (`.md-block`, `.md-cont` when cut for length), sanitized at once. */
export function renderSegments(segments: Segment[]): HTMLElement[] {
  if (segments.length === 0) return [];
  const html = segments
    .map(
      (segment) =>
        `<div class="${segment.cont ? 'md-block md-cont' : 'md-block'}">${markdownToHtml(segment.text)}</div>`,
    )
    .join('');
  return [...sanitized(html).children] as HTMLElement[];
}
