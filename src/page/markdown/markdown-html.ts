import { Marked, type Tokens } from 'marked';
import { safeHref } from './safe-href';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

function anchor(href: string, title: string | null | undefined, inner: string): string {
  const titled = title ? ` title="${escapeHtml(title)}"` : '';
  return `<a href="${escapeHtml(href)}"${titled} target="_blank" rel="noopener noreferrer">${inner}</a>`;
}

// Nested anchors are invalid HTML: an image inside a link's text is shown as its alt text.
let linkDepth = 0;

// A reply is untrusted model output: raw HTML is shown as text, unsafe links as their text, and images as
// links, so that rendering a reply never makes the browser fetch anything.
const markdown = new Marked({
  gfm: true,
  renderer: {
    html({ text, block }: Tokens.HTML | Tokens.Tag): string {
      return block ? `<p>${escapeHtml(text.trimEnd())}</p>\n` : escapeHtml(text);
    },
    link({ href, title, tokens }: Tokens.Link): string {
      linkDepth++;
      try {
        const inner = this.parser.parseInline(tokens);
        const url = safeHref(href);
        return url === null ? inner : anchor(url, title, inner);
      } finally {
        linkDepth--;
      }
    },
    image({ href, title, text, tokens }: Tokens.Image): string {
      const alt = tokens ? this.parser.parseInline(tokens, this.parser.textRenderer) : text;
      const url = safeHref(href);
      const label = escapeHtml(alt || href);
      return url === null || linkDepth > 0 ? label : anchor(url, title, label);
    },
  },
});

/** Markdown to an HTML string; still to be sanitized before it reaches the DOM. */
export function markdownToHtml(source: string): string {
  return markdown.parse(source, { async: false });
}
