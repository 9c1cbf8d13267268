const ALLOWED_SCHEME = /^(?:https?|mailto)$/i;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const ENTITY = /&(?:#x([0-9a-f]+)|#(\d+)|(amp|lt|gt|quot|apos|colon|tab|newline));?/gi;
const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  colon: ':',
  tab: '\t',
  newline: '\n',
};
// Browsers drop these from a URL before reading its scheme, so `java\tscript:` is `javascript:` to them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const IGNORED = /[\u0000-\u0020\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\ufeff]/g;

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (entity, hex?: string, decimal?: string, name?: string) => {
    if (name !== undefined) return NAMED[name.toLowerCase()] ?? entity;
    const code = hex !== undefined ? Number.parseInt(hex, 16) : Number(decimal);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
  });
}

/**
 * The URL to put in an href, or null when the link must be shown as plain text. Only http:, https:, mailto:
 * and same-page `#…` links pass; a relative link would point into the gateway, so it does not.
 * Marked leaves entities in destinations as written, so `javascript&colon;` is decoded here before the scheme
 * is read; the caller escapes every `&` of the result, so the browser sees exactly the URL checked here.
 */
export function safeHref(href: string): string | null {
  const url = decodeEntities(href).trim();
  const compact = url.replace(IGNORED, '');
  if (!compact.startsWith('#')) {
    const scheme = SCHEME.exec(compact)?.[1];
    if (scheme === undefined || !ALLOWED_SCHEME.test(scheme)) return null;
  }
  try {
    // As marked does: percent-encode what a URL may not hold, but keep existing %XX escapes.
    return encodeURI(url).replace(/%25/g, '%');
  } catch {
    return null;
  }
}
