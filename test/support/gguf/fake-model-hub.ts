import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeModelHub {
  /** The hub's base URL, as CHATWIRE_HF_ENDPOINT takes it. */
  url: string;
  requests: Array<{ path: string; range?: string }>;
  close(): Promise<void>;
}

/**
 * Enough of the Hugging Face hub on 127.0.0.1 for `chatwire pull`: the repository `chatwire/tiny-GGUF`, whose
 * file list names a few GGUF files, and `resolve/main/<file>` redirecting to the bytes (as the hub sends
 * downloads to its CDN). The file is sent in pieces with its length, and honours `Range` for resumed pulls.
 */
export async function startFakeModelHub(model: Buffer): Promise<FakeModelHub> {
  const requests: FakeModelHub['requests'] = [];
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://hub').pathname;
    requests.push({ path, ...(request.headers.range !== undefined && { range: request.headers.range }) });
    if (path === '/api/models/chatwire/tiny-GGUF') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatwire/tiny-GGUF',
          siblings: [
            { rfilename: 'README.md' },
            { rfilename: 'mmproj-tiny-chat-Q4_K_M.gguf' },
            { rfilename: 'tiny-chat-Q4_K_M.gguf' },
            { rfilename: 'tiny-chat-Q8_0.gguf' },
          ],
        }),
      );
      return;
    }
    const resolved = /^\/chatwire\/tiny-GGUF\/resolve\/main\/(.+\.gguf)$/.exec(path);
    if (resolved) {
      response.writeHead(302, { location: `/cdn/${resolved[1]}` });
      response.end();
      return;
    }
    if (path === '/cdn/tiny-chat-Q4_K_M.gguf' || path === '/files/tiny-chat.gguf') {
      sendInPieces(request, response, model);
      return;
    }
    if (path === '/files/not-a-model.gguf') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>Sign in to continue</html>');
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'Entry not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendInPieces(request: IncomingMessage, response: import('node:http').ServerResponse, file: Buffer) {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const body = file.subarray(start);
  response.writeHead(range ? 206 : 200, {
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
    ...(range && { 'content-range': `bytes ${start}-${file.length - 1}/${file.length}` }),
  });
  const piece = Math.ceil(body.length / 8);
  let offset = 0;
  const next = () => {
    if (offset >= body.length) {
      response.end();
      return;
    }
    response.write(body.subarray(offset, offset + piece));
    offset += piece;
    // A moment between pieces, so the client reads them as they come rather than all at once.
    setTimeout(next, 2);
  };
  next();
}
