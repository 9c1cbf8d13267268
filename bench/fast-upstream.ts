// A fast stand-in for Ollama's POST /api/chat, run in its own process so its CPU is not the harness's.
//
// The harness sets the scenario (token count, delay between tokens) through POST /_scenario, because chatwire
// forwards only its persona's fields: a per-request knob would not survive the relay. GET /_stats reports
// every stream the client left before its end, with the monotonic time the server noticed, so the harness
// can compute abort latency (CLOCK_MONOTONIC is system-wide on Linux, so both processes share the clock).
//
// Started as: node --import tsx bench/fast-upstream.ts; prints {"port":N} once listening.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

interface Scenario {
  tokens: number;
  delayMs: number;
}

interface Abort {
  tag: string;
  atNs: string;
  tokensSent: number;
}

// Ollama's tokens are short words and word pieces; '<b>' and '&' make Go's \u003c-style escaping appear too.
const VOCABULARY = [
  'Hello',
  ',',
  ' world',
  ' the',
  ' stream',
  'ing',
  ' gateway',
  ' relays',
  ' each',
  ' token',
  ' <b>',
  ' &',
  '.',
  '\n',
];

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026' };

let scenario: Scenario = { tokens: 32, delayMs: 0 };
let encodedByModel = new Map<string, Buffer[]>();
let started = 0;
let completed = 0;
let aborts: Abort[] = [];
/** Connections accepted since the process started: a relay whose pool keeps reconnecting shows here. */
let connections = 0;

const server = createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/api/chat') return readJson(request, chat(response));
  if (request.method === 'POST' && request.url === '/_scenario')
    return readJson(request, configure(response));
  if (request.method === 'GET' && request.url === '/_stats') return sendJson(response, stats());
  if (request.method === 'GET' && request.url?.startsWith('/_expected')) {
    const model = new URL(request.url, 'http://x').searchParams.get('model') ?? 'bench';
    const chunks = encoded(model);
    return sendJson(response, { bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0) });
  }
  if (request.method === 'GET' && request.url === '/api/version')
    return sendJson(response, { version: 'bench' });
  if (request.method === 'GET' && request.url === '/') return response.end('Ollama is running');
  response.writeHead(404).end();
});

function chat(response: ServerResponse) {
  return (body: { model?: unknown; messages?: Array<{ content?: unknown }> }) => {
    const model = typeof body.model === 'string' ? body.model : '';
    const tag = String(body.messages?.at(-1)?.content ?? '');
    const chunks = encoded(model);
    const { delayMs } = scenario;
    started++;
    let next = 0;
    let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
    response.on('close', () => {
      if (response.writableFinished) return;
      aborts.push({ tag, atNs: process.hrtime.bigint().toString(), tokensSent: next });
      if (timer === undefined) return;
      if (delayMs > 0) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
    });
    // Like Ollama (gin), headers go out with the first object, not before.
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const step = () => {
      timer = undefined;
      if (response.destroyed) return;
      const chunk = chunks[next++] as Buffer;
      if (next === chunks.length) {
        response.end(chunk, () => completed++);
        return;
      }
      const flushed = response.write(chunk);
      // One write per token (Ollama flushes after each), and yielding between tokens lets concurrent streams
      // interleave as a batched generator's do, instead of one stream flooding its socket.
      const schedule = () => {
        timer = delayMs > 0 ? setTimeout(step, delayMs) : setImmediate(step);
      };
      if (flushed) schedule();
      else response.once('drain', schedule);
    };
    step();
  };
}

function configure(response: ServerResponse) {
  return (body: Partial<Scenario>) => {
    scenario = {
      tokens: Math.max(1, Number(body.tokens) || 1),
      delayMs: Math.max(0, Number(body.delayMs) || 0),
    };
    encodedByModel = new Map();
    started = 0;
    completed = 0;
    aborts = [];
    sendJson(response, scenario);
  };
}

function stats() {
  return { scenario, started, completed, connections, aborted: aborts.length, aborts };
}

/** The whole reply for a model, encoded once per scenario: the hot path only writes buffers. */
function encoded(model: string): Buffer[] {
  let chunks = encodedByModel.get(model);
  if (chunks !== undefined) return chunks;
  const startNs = BigInt(Date.now()) * 1_000_000n;
  const stepNs = BigInt(Math.max(1, scenario.delayMs) * 1_000_000);
  const prefix = `{"model":${goJson(model)},"created_at":`;
  chunks = [];
  for (let index = 0; index < scenario.tokens; index++) {
    const token = VOCABULARY[index % VOCABULARY.length] as string;
    const createdAt = rfc3339Nano(startNs + BigInt(index) * stepNs);
    chunks.push(
      Buffer.from(
        `${prefix}"${createdAt}","message":{"role":"assistant","content":${goJson(token)}},"done":false}\n`,
      ),
    );
  }
  const evalNs = BigInt(scenario.tokens) * stepNs;
  const metrics = {
    total_duration: 150_000_000 + Number(evalNs),
    load_duration: 12_345_678,
    prompt_eval_count: 26,
    prompt_eval_duration: 130_000_000,
    eval_count: scenario.tokens,
    eval_duration: Number(evalNs),
  };
  const done = `${prefix}"${rfc3339Nano(startNs + evalNs)}","message":{"role":"assistant","content":""},"done":true,"done_reason":"length",${JSON.stringify(metrics).slice(1)}\n`;
  chunks.push(Buffer.from(done));
  encodedByModel.set(model, chunks);
  return chunks;
}

function goJson(value: string): string {
  return JSON.stringify(value).replace(/[<>&]/g, (c) => GO_ESCAPES[c] ?? c);
}

/** Go's time.RFC3339Nano in UTC: up to 9 fractional digits with trailing zeros trimmed. */
function rfc3339Nano(ns: bigint): string {
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const seconds = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  return `${seconds}${fraction ? `.${fraction}` : ''}Z`;
}

function readJson<T>(request: IncomingMessage, handle: (body: T) => void): void {
  const pieces: Buffer[] = [];
  request.on('data', (piece: Buffer) => pieces.push(piece));
  request.on('end', () => {
    let body: T;
    try {
      body = JSON.parse(Buffer.concat(pieces).toString('utf8') || '{}') as T;
    } catch {
      request.socket.destroy();
      return;
    }
    handle(body);
  });
}

function sendJson(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(value));
}

server.on('connection', () => {
  connections++;
});

// A 1,000-connection burst overflows Node's default accept backlog (511); dropped SYNs would show up as
// one-second TTFT outliers that belong to the kernel, not to the server being measured.
server.listen(
  { host: '127.0.0.1', port: Number(process.env.BENCH_UPSTREAM_PORT ?? 0), backlog: 4096 },
  () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  },
);
process.on('SIGTERM', () => process.exit(0));
