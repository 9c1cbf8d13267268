// The soak's clients: each reads a /v1/chat stream its own way (at once, slowly, never, dropping it, or
// dropping it and resuming) and records exactly what it saw, for the checker to judge.
import { Agent, type IncomingMessage, request } from 'node:http';
import type { StreamPlan } from './plan.js';
import { requestContent } from './plan.js';

export interface Seen {
  status: number;
  upstream: string | undefined;
  generationId: string | undefined;
  /** Parsed NDJSON lines (for a non-200, the JSON error body as one item). */
  lines: Array<Record<string, unknown>>;
  /** Bytes after the last newline when the body ended: a torn line. */
  partial: string;
  /** The client itself ended the exchange (abort, never-reading, the dropped half of a resume). */
  dropped: boolean;
  /** Date.now() when it did. */
  droppedAt?: number;
  /** The resumed half of a resume: what `GET /v1/generations/{id}/stream?after=N` answered. */
  resumed?: { status: number; lines: Array<Record<string, unknown>>; partial: string };
  /** A transport error the client hit (never expected). */
  transportError?: string;
  startedAt: number;
  endedAt: number;
}

export interface ClientOptions {
  url: string;
  agent: Agent;
  /** never-reading-client: how long it waits before giving up. */
  giveUpMs: number;
  /** slow-client: pause after each read. */
  slowReadPauseMs: number;
}

export function clientAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
}

interface Exchange {
  res: IncomingMessage;
  drop(): void;
}

function post(options: ClientOptions, plan: StreamPlan, headers: Record<string, string>): Promise<Exchange> {
  const body = JSON.stringify({ messages: [{ role: 'user', content: requestContent(plan) }] });
  return new Promise((resolve, reject) => {
    const req = request(`${options.url}/v1/chat`, {
      method: 'POST',
      agent: options.agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
    });
    req.once('error', reject);
    req.once('response', (res) => resolve({ res, drop: () => req.destroy() }));
    req.end(body);
  });
}

function get(options: ClientOptions, path: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = request(`${options.url}${path}`, { agent: options.agent });
    req.once('error', reject);
    req.once('response', (res) => resolve({ res, drop: () => req.destroy() }));
    req.end();
  });
}

/** Splits a body into lines as it arrives; `stopAfter` lines makes the caller drop the connection. */
class LineReader {
  lines: Array<Record<string, unknown>> = [];
  partial = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Buffer): void {
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const pieces = text.split('\n');
    this.partial = pieces.pop() ?? '';
    for (const piece of pieces) {
      if (!piece) continue;
      try {
        this.lines.push(JSON.parse(piece) as Record<string, unknown>);
      } catch {
        this.lines.push({ unparsable: piece.slice(0, 200) });
      }
    }
  }
}

/** Reads the body to its end; `onLine` may drop the connection (then the promise resolves with what came). */
function readAll(
  ex: Exchange,
  reader: LineReader,
  pauseMs: number,
  stopWhen?: (lines: number) => boolean,
): Promise<{ dropped: boolean; error?: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: { dropped: boolean; error?: string }) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    ex.res.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      if (stopWhen?.(reader.lines.length)) {
        ex.drop();
        finish({ dropped: true });
        return;
      }
      if (pauseMs > 0) {
        ex.res.pause();
        setTimeout(() => ex.res.resume(), pauseMs);
      }
    });
    ex.res.once('end', () => finish({ dropped: false }));
    ex.res.once('error', (error) => finish({ dropped: false, error: error.message }));
    ex.res.once('close', () =>
      finish({ dropped: false, error: ex.res.complete ? undefined : 'closed early' }),
    );
  });
}

export async function runClient(options: ClientOptions, plan: StreamPlan): Promise<Seen> {
  const startedAt = performance.now();
  const seen: Seen = {
    status: 0,
    upstream: undefined,
    generationId: undefined,
    lines: [],
    partial: '',
    dropped: false,
    startedAt,
    endedAt: startedAt,
  };
  try {
    const detach = plan.scenario === 'resume';
    const ex = await post(options, plan, detach ? { 'chatwire-on-disconnect': 'detach' } : {});
    seen.status = ex.res.statusCode ?? 0;
    seen.upstream = header(ex.res, 'chatwire-upstream');
    seen.generationId = header(ex.res, 'chatwire-generation-id');
    const reader = new LineReader();
    let result: { dropped: boolean; error?: string };
    if (seen.status !== 200) {
      result = await readAll(ex, reader, 0);
      reader.push(Buffer.from('\n'));
    } else if (plan.scenario === 'never-reading-client') {
      // Headers only, then nothing read: the gateway must stop the upstream rather than buffer the reply.
      ex.res.pause();
      await new Promise((resolve) => setTimeout(resolve, options.giveUpMs));
      ex.drop();
      result = { dropped: true };
    } else if (plan.scenario === 'client-abort' || plan.scenario === 'resume') {
      result = await readAll(ex, reader, 0, (lines) => lines >= plan.cut);
    } else {
      result = await readAll(ex, reader, plan.scenario === 'slow-client' ? options.slowReadPauseMs : 0);
    }
    seen.lines = reader.lines;
    seen.partial = reader.partial;
    seen.dropped = result.dropped;
    if (result.dropped) seen.droppedAt = Date.now();
    if (result.error) seen.transportError = result.error;
    if (plan.scenario === 'resume' && result.dropped && seen.generationId) {
      const again = await get(
        options,
        `/v1/generations/${seen.generationId}/stream?after=${reader.lines.length}`,
      );
      const rest = new LineReader();
      const second = await readAll(again, rest, 0);
      seen.resumed = { status: again.res.statusCode ?? 0, lines: rest.lines, partial: rest.partial };
      if (second.error) seen.transportError = `resume: ${second.error}`;
    }
  } catch (error) {
    seen.transportError = (error as Error).message;
  }
  seen.endedAt = performance.now();
  return seen;
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
