import DOMPurify, { type Config, type DOMPurify as Purifier } from 'dompurify';
import { markdownToHtml } from './markdown-html';

// What markdownToHtml can produce and nothing more: defence in depth should marked ever let something through.
// (`div` is the segment wrapper renderSegments makes, and the root sanitized in place; markdownToHtml never
// makes one.)
const SANITIZE: Config & { IN_PLACE: true } = {
  ALLOWED_TAGS: [
    'a',
    'div',
    'blockquote',
    'br',
    'code',
    'del',
    'em',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'input',
    'li',
    'ol',
    'p',
    'pre',
    'strong',
    'table',
    'tbody',
    'td',
    'th',
    'thead',
    'tr',
    'ul',
  ],
  ALLOWED_ATTR: ['href', 'title', 'target', 'rel', 'class', 'type', 'checked', 'disabled', 'align', 'start'],
  // DOMPurify holds every attribute that is not "URI safe" to this pattern, not only href.
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  ADD_URI_SAFE_ATTR: ['target', 'rel', 'type', 'align', 'start'],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  IN_PLACE: true,
};

export function copyButton(): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy-code';
  button.setAttribute('aria-label', 'Copy code');
  button.textContent = 'Copy';
  return button;
}

// An instance of our own, configured once: the shared one would parse the configuration again on every call,
// a quarter of the cost of sanitizing a short fragment.
let purifier: Purifier | undefined;

/** Markdown to sanitized DOM, each code block with its copy button. */
export function renderFragment(markdown: string): DocumentFragment {
  return sanitized(markdownToHtml(markdown));
}

// One inert document for every parse: nothing in it runs or loads, and DOMPurify given a string would build a
// new document for each call, the biggest part of the garbage a long reply made (and of its GC pauses).
let inert: HTMLElement | undefined;
let range: Range | undefined;

/**
 * HTML to sanitized DOM, each code block with its copy button. Callers with several pieces pass them at once.
 * The sanitized HTML is parsed again into this document rather than moving the nodes DOMPurify walked: those
 * all carry JavaScript wrappers, which a reply's thousands of nodes would keep alive, and every major GC would
 * then spend tens of milliseconds on them.
 */
export function sanitized(html: string): DocumentFragment {
  if (purifier === undefined || inert === undefined || range === undefined) {
    purifier = DOMPurify(window);
    purifier.setConfig(SANITIZE);
    inert = document.implementation.createHTMLDocument('').createElement('div');
    range = document.createRange();
    range.selectNodeContents(document.body);
  }
  inert.innerHTML = html;
  purifier.sanitize(inert, SANITIZE);
  const fragment = range.createContextualFragment(inert.innerHTML);
  inert.replaceChildren();
  for (const code of fragment.querySelectorAll('pre > code')) code.before(copyButton());
  return fragment;
}
