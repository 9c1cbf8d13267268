import DOMPurify, { type Config, type DOMPurify as Purifier } from 'dompurify';
import { markdownToHtml } from './markdown-html';

// What markdownToHtml can produce and nothing more: defence in depth should marked ever let something through.
// (`div` is the segment wrapper renderSegments makes; markdownToHtml never makes one.)
const SANITIZE: Config & { RETURN_DOM_FRAGMENT: true } = {
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
  RETURN_DOM_FRAGMENT: true,
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

/**
 * HTML to sanitized DOM, each code block with its copy button. Each call parses its HTML into a document of
 * its own, so callers with several pieces sanitize them in one call: fewer documents, less garbage.
 */
export function sanitized(html: string): DocumentFragment {
  if (purifier === undefined) {
    purifier = DOMPurify(window);
    purifier.setConfig(SANITIZE);
  }
  const fragment = purifier.sanitize(html, SANITIZE);
  for (const code of fragment.querySelectorAll('pre > code')) code.before(copyButton());
  return fragment;
}
