// The chat page is served by chatwire itself: to browsers at `/`, from memory, compressed, under a
// Content-Security-Policy that lets it reach chatwire and nothing else; every other client at `/` still
// gets Ollama's liveness answer.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPageRoutes, wantsHtml } from '../../../src/server/routes/page/page-routes.js';
import { type OllamaSimulator, startOllamaSimulator } from '../../support/ollama-simulator.js';
import { type RunningGateway, startGateway } from '../../support/start-gateway.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8';

let sim: OllamaSimulator;
let chatwire: RunningGateway;
beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url);
});
afterAll(async () => {
  await chatwire.close();
  await sim.close();
});

describe('GET /', () => {
  it('gives a browser the page, with a policy that allows only chatwire itself', async () => {
    const response = await fetch(`${chatwire.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(response.headers.get('vary')).toMatch(/accept/);
    const html = await response.text();
    expect(html).toContain('<div id="app">');
    // Every file the page names is chatwire's own, and each one is there.
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls.filter((url) => !url.startsWith('data:'))) {
      expect(url).toMatch(/^\/ui\//);
      expect((await fetch(`${chatwire.url}${url}`)).status, url).toBe(200);
    }
  });

  it('still tells Ollama clients, curl and probes that Ollama is running', async () => {
    for (const accept of [undefined, '*/*', 'application/json']) {
      const response = await fetch(`${chatwire.url}/`, { headers: accept ? { accept } : {} });
      expect(await response.text()).toBe('Ollama is running');
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    }
    expect((await fetch(`${chatwire.url}/`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('/ui/ assets', () => {
  it('are compressed when the client accepts it, cached for good, and revalidated by ETag', async () => {
    const html = await (await fetch(`${chatwire.url}/ui/`)).text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1] as string;
    // undici's fetch decodes gzip and brotli itself: ask the server what it sent.
    const compressed = await fetch(`${chatwire.url}${script}`, {
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(compressed.headers.get('content-encoding')).toBe('br');
    expect(compressed.headers.get('cache-control')).toContain('immutable');
    const plain = await fetch(`${chatwire.url}${script}`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(await compressed.text());
    const etag = plain.headers.get('etag') as string;
    const again = await fetch(`${chatwire.url}${script}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('answer an unknown path under /ui/ with the page, so a reload of a page link works', async () => {
    const response = await fetch(`${chatwire.url}/ui/c/some-conversation`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="app">');
  });
});

describe('an install without the built page', () => {
  it('tells a browser how to build it, and the API is unaffected', async () => {
    const app = Fastify();
    const page = registerPageRoutes(app, join(tmpdir(), 'chatwire-no-page-here'));
    app.get('/', (request, reply) => page.sendIndex(request, reply));
    const response = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } });
    expect(page.built).toBe(false);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('npm run build');
    await app.close();
  });
});

describe('wantsHtml', () => {
  it('is true only when text/html is named, not for a wildcard', () => {
    const ask = (accept?: string) => wantsHtml({ headers: accept === undefined ? {} : { accept } } as never);
    expect(ask(BROWSER_ACCEPT)).toBe(true);
    expect(ask('text/html')).toBe(true);
    expect(ask('*/*')).toBe(false);
    expect(ask('text/*')).toBe(false);
    expect(ask('application/xhtml+xml')).toBe(false);
    expect(ask(undefined)).toBe(false);
  });
});
