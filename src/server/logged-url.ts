/** The query parameters chatwire reads; only theirs are logged as sent. */
const KNOWN_PARAMETERS = new Set(['limit', 'cursor', 'after']);

/**
 * A request's URL for the log: the path as sent, and of the query only the values chatwire itself reads.
 * Any other value is replaced, since clients put keys there (`?key=…`, `?api_key=…`) that must not be logged.
 */
export function loggedUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const parameters = [...new URLSearchParams(url.slice(start + 1))].map(([name, value]) => {
    const shown = KNOWN_PARAMETERS.has(name) ? encodeURIComponent(value) : '[redacted]';
    return `${encodeURIComponent(name)}=${shown}`;
  });
  return `${url.slice(0, start)}?${parameters.join('&')}`;
}
