import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addVary } from '../../add-vary.js';
import { loadPageAssets, PAGE_DIR, type PageAsset } from './page-assets.js';

/**
 * The page may talk to chatwire and nothing else: no script, style, image or connection from anywhere else,
 * and no inline script (a reply rendered as HTML can never run code, even if the sanitizer had a hole).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>chatwire</title>
<p>chatwire is running, but its chat page was not built in this install.
<p>Run <code>npm run build</code> in chatwire's folder with its development packages installed
(<code>npm install</code> without <code>--omit</code>), then start chatwire again.`;

export interface ChatPage {
  /** True when the page was built; otherwise browsers get a note saying how to build it. */
  built: boolean;
  /** Answers a browser's request for the page itself. */
  sendIndex(request: FastifyRequest, reply: FastifyReply): FastifyReply;
}

/** `/ui/*` serves the page's files; `/` serves the page to browsers (see wantsHtml). */
export function registerPageRoutes(app: FastifyInstance, dir = PAGE_DIR): ChatPage {
  const assets = loadPageAssets(dir);
  const sendIndex = (request: FastifyRequest, reply: FastifyReply) => {
    securityHeaders(reply);
    const index = assets?.get('index.html');
    if (index === undefined) return reply.code(200).type('text/html; charset=utf-8').send(NOT_BUILT);
    // The page names its hashed assets, so it is revalidated every time and they are cached for good.
    return sendAsset(request, reply, index, 'no-cache');
  };

  app.get('/ui/', { schema: { hide: true } }, sendIndex);
  app.get<{ Params: { '*': string } }>('/ui/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.params['*'];
    const asset = path === 'index.html' ? undefined : assets?.get(path);
    if (asset === undefined) return sendIndex(request, reply);
    securityHeaders(reply);
    return sendAsset(request, reply, asset, 'public, max-age=31536000, immutable');
  });

  return { built: assets !== undefined, sendIndex };
}

/**
 * A browser navigating to `/` names text/html in Accept; Ollama's clients, curl and probes do not (curl asks for
 * any type), and they keep getting "Ollama is running" there.
 */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

function securityHeaders(reply: FastifyReply): void {
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: PageAsset, cache: string) {
  addVary(reply.header('cache-control', cache).header('etag', asset.etag), 'accept-encoding');
  reply.type(asset.type);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const accepted = String(request.headers['accept-encoding'] ?? '');
  if (/\bbr\b/.test(accepted)) return reply.header('content-encoding', 'br').send(asset.brotli);
  if (/\bgzip\b/.test(accepted)) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.identity);
}
