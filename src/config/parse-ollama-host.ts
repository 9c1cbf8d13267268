/**
 * Ollama accepts OLLAMA_HOST as `host`, `host:port`, `:port` or a full URL. As in Ollama's own client, a value
 * without a scheme means http on port 11434, while an explicit scheme keeps that scheme's usual port.
 * We accept the same spellings so one variable serves both.
 */
export function parseOllamaHost(value: string): URL {
  let text = value.trim();
  if (text === '') throw new Error('must not be empty');
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  if (!hasScheme) {
    if (text.startsWith(':')) text = `127.0.0.1${text}`;
    text = `http://${text}`;
  }
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`scheme must be http or https, not ${url.protocol.replace(':', '')}`);
  }
  if (!hasScheme && url.port === '' && !/:\d+$/.test(text)) url.port = '11434';
  // Ollama binds 0.0.0.0 to mean "every interface"; as a destination it means this machine.
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

/** The base URL as a string without a trailing slash, for building `${base}/api/chat`. */
export function formatBaseUrl(url: URL): string {
  return url.href.replace(/\/+$/, '');
}
