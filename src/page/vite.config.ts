import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

// The page is served by the gateway itself: assets under /ui/, nothing fetched from anywhere else.
export default defineConfig({
  root: here,
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npm run dev:page`: hot reload here, the API from a chatwire on its default port.
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/api'].map((path) => [path, process.env.CHATWIRE_URL ?? 'http://127.0.0.1:8080']),
    ),
  },
  build: {
    outDir: fileURLToPath(new URL('../../dist/page', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // An inline polyfill script would need 'unsafe-inline' in the page's Content-Security-Policy.
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
