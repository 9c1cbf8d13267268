import { renderFragment } from './render-fragment';

// One of everything a reply tends to contain, so that each path of the parser and sanitizer is compiled.
const SAMPLE =
  '# H\n\nA *b* **c** `d` [e](https://example.com) <i>f</i>\n\n- g\n- h\n\n1. i\n\n> j\n\n' +
  '| k | l |\n|---|---|\n| m | n |\n\n```js\no();\n```\n\n---\n\n![p](https://example.com/q.png)';

/**
 * Renders a sample off-screen while the browser is idle: the first render after the page loads costs
 * 50–90 ms more than any later one (marked and DOMPurify being compiled), and without this the first
 * reply would pay it in the middle of streaming.
 */
export function warmUpMarkdown(): void {
  const run = () => void renderFragment(SAMPLE);
  if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 2000 });
  else setTimeout(run, 200);
}
