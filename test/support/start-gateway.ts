import { createServer } from 'node:net';
import { pino } from 'pino';
import type { Dispatcher } from 'undici';
import { loadConfig } from '../../src/config/config.js';
import { buildGateway, type Gateway } from '../../src/server/build-gateway.js';

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  close(): Promise<void>;
}

/** The real server on an ephemeral 127.0.0.1 port, configured the way a user would: through the environment. */
export async function startGateway(
  upstreamUrl: string,
  env: Record<string, string> = {},
  options: { dispatcher?: Dispatcher; logLines?: Array<Record<string, unknown>> } = {},
): Promise<RunningGateway> {
  // Conversations live in memory unless a test names a database: tests never write into the repository.
  const config = loadConfig({
    OLLAMA_HOST: upstreamUrl,
    CHATWIRE_PORT: '0',
    DATABASE_URL: 'sqlite::memory:',
    ...env,
  });
  const { logLines } = options;
  const logger = logLines
    ? pino({ level: config.log.level }, { write: (line: string) => logLines.push(JSON.parse(line)) })
    : pino({ level: process.env.CHATWIRE_TEST_LOG ?? 'silent' });
  const gateway = await buildGateway(config, { logger, dispatcher: options.dispatcher });
  const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  return { url, gateway, close: () => gateway.shutdown(0) };
}

/** A loopback port with nothing listening on it: connecting is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function chatBody(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...overrides });
}

export async function postChat(
  url: string,
  body: string | Record<string, unknown> = chatBody(),
  init: RequestInit = {},
) {
  return fetch(`${url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : chatBody(body),
    ...init,
  });
}

/** The NDJSON body as parsed lines (the raw text is checked separately where bytes matter). */
export async function readLines(response: Response): Promise<Array<Record<string, unknown>>> {
  const text = await response.text();
  expectNewlineTerminated(text);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

function expectNewlineTerminated(text: string): void {
  if (text !== '' && !text.endsWith('\n'))
    throw new Error(`body does not end with a newline: ${JSON.stringify(text.slice(-80))}`);
}

/** The `error` of a JSON error body. */
export async function errorOf(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: unknown };
  if (typeof body.error !== 'string') throw new Error(`not an error body: ${JSON.stringify(body)}`);
  return body.error;
}
