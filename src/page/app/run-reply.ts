import type { ChatStream } from '../../client/index';
import { type Explained, explainError } from './explain-error';
import type { LiveReply } from './live-reply';

export interface ReplyStats {
  ttftMs?: number;
  tokensPerSecond?: number;
}

/** How a reply ended: done, stopped by the reader, cut after tokens arrived, or failed before any. */
export type ReplyEnd =
  | { state: 'complete'; stats: ReplyStats }
  | { state: 'stopped' }
  | { state: 'cut'; error: Explained }
  | { state: 'failed'; error: Explained };

/** How long the reading loop may keep the main thread before it lets the browser render and handle input. */
const SLICE_MS = 8;
/**
 * How much text the loop hands the view per animation frame at most. A reply that arrives faster is read
 * no faster than it is rendered, so the view never has a backlog to render in one go at the end.
 */
const CHARS_PER_FRAME = 1000;

/**
 * A reply that arrives faster than it is read is already buffered, and each read then resolves at once, as
 * a microtask: without a pause, the loop would read the whole reply in one task and the page would render
 * nothing (and answer no key) until it ended.
 */
/**
 * After the next frame is drawn: reading on inside the frame's own task would add the next slice to the work
 * of rendering the last one. A hidden tab gets no frames: it reads on, and renders once it is shown again.
 */
function nextFrame(): Promise<void> {
  if (document.hidden) return yieldToBrowser();
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

function yieldToBrowser(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (scheduler?.yield !== undefined) return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Reads a reply to its end; no outcome is a silent truncation: a stream without `done` is `cut`. */
export async function runReply(stream: ChatStream, live: LiveReply, signal: AbortSignal): Promise<ReplyEnd> {
  let sawAnything = false;
  let sliceStart = performance.now();
  let charsThisFrame = 0;
  try {
    for await (const event of stream) {
      if (charsThisFrame > CHARS_PER_FRAME) {
        await nextFrame();
        charsThisFrame = 0;
        sliceStart = performance.now();
      } else if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToBrowser();
        sliceStart = performance.now();
      }
      if (event.type === 'text') {
        sawAnything = true;
        charsThisFrame += event.text.length;
        live.append(event.text);
      } else if (event.type === 'thinking') {
        sawAnything = true;
        live.appendThinking(event.text);
      } else if (event.type === 'done') {
        const { ttftMs, tokensPerSecond } = event.stats;
        return { state: 'complete', stats: { ttftMs, tokensPerSecond } };
      }
    }
    return { state: 'cut', error: { text: 'The connection ended before the reply was complete.' } };
  } catch (error) {
    if (signal.aborted) return { state: 'stopped' };
    const explained = explainError(error);
    return sawAnything ? { state: 'cut', error: explained } : { state: 'failed', error: explained };
  } finally {
    live.finish();
  }
}
