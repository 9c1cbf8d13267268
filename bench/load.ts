// The load generator: N workers over one undici Pool, each sending its next request as soon as the previous
// one ends. It uses undici's dispatch handler API rather than request() bodies so timing is taken where bytes
// arrive, without stream machinery between the socket and the clock.
import { type Dispatcher, Pool } from 'undici';

export interface Target {
  name: 'direct' | 'chatwire' | 'tcp floor' | 'http floor';
  origin: string;
  path: string;
  /** NDJSON (Ollama's routes and /v1/chat) or OpenAI's SSE. */
  format: 'ndjson' | 'sse';
  /** The request body; `tag` ends up as the last message's content, which the upstream records on abort. */
  body(tag: string): string;
}

export interface Expected {
  tokens: number;
  /**
   * Exact body length of an NDJSON reply: chatwire relays the upstream's bytes unchanged, so both targets must
   * match it. (SSE is a translation; its replies are checked by event count and usage instead.)
   */
  bytes: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  errorSamples: string[];
  /** Time to first token per successful request, ms, ascending. */
  ttftMs: number[];
  tokens: number;
  durationMs: number;
}

export interface AbortSample {
  tag: string;
  /** process.hrtime.bigint() just before the client aborted. */
  abortedAtNs: bigint;
}

const NEWLINE = 0x0a;
const MAX_ERROR_SAMPLES = 5;

export class LoadGenerator {
  private readonly pool: Pool;

  constructor(
    private readonly target: Target,
    connections: number,
  ) {
    // One connection per concurrent stream: a stream holds its connection until its last byte.
    this.pool = new Pool(target.origin, { connections });
  }

  /** `requests` requests, `concurrency` at a time; every reply is checked against `expected`. */
  async run(requests: number, concurrency: number, expected: Expected): Promise<LoadResult> {
    const result: LoadResult = {
      requests,
      errors: 0,
      errorSamples: [],
      ttftMs: [],
      tokens: 0,
      durationMs: 0,
    };
    let issued = 0;
    const worker = async () => {
      while (issued < requests) {
        const tag = `${this.target.name}-${issued++}`;
        const outcome = await this.stream(tag, expected, false);
        if (typeof outcome === 'string') {
          result.errors++;
          if (result.errorSamples.length < MAX_ERROR_SAMPLES) result.errorSamples.push(outcome);
        } else {
          result.ttftMs.push(outcome.ttftMs);
          result.tokens += expected.tokens;
        }
      }
    };
    const startedAt = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
    result.durationMs = performance.now() - startedAt;
    result.ttftMs.sort((a, b) => a - b);
    return result;
  }

  /** One at a time: start a stream, abort it as soon as its first token arrives, note when. */
  async aborts(
    samples: number,
    gapMs: number,
    prefix = 'abort',
  ): Promise<{ samples: AbortSample[]; errors: string[] }> {
    const done: AbortSample[] = [];
    const errors: string[] = [];
    for (let index = 0; index < samples; index++) {
      const tag = `${prefix}-${this.target.name}-${index}`;
      const outcome = await this.stream(tag, { tokens: 0, bytes: 0 }, true);
      if (typeof outcome === 'string') errors.push(outcome);
      else if (outcome.abortedAtNs !== undefined) done.push({ tag, abortedAtNs: outcome.abortedAtNs });
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    return { samples: done, errors };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** Resolves with the timing, or with a string saying what was wrong with the reply. */
  private stream(
    tag: string,
    expected: Expected,
    abortAfterFirstToken: boolean,
  ): Promise<{ ttftMs: number; abortedAtNs?: bigint } | string> {
    const { format } = this.target;
    return new Promise((resolve) => {
      const startedAt = performance.now();
      let status = 0;
      let ttftMs: number | undefined;
      let abortedAtNs: bigint | undefined;
      let lines = 0;
      // SSE events end with a blank line: "\n\n", whose two bytes may arrive in different reads.
      let events = 0;
      let lastByte = 0;
      let bytes = 0;
      // The final line may straddle reads; the last few reads are kept until they cover it.
      const tail: Buffer[] = [];
      let tailBytes = 0;
      const handler: Dispatcher.DispatchHandler = {
        // Its presence is what tells undici this handler speaks the controller-based API.
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(controller, chunk) {
          bytes += chunk.length;
          for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) {
            lines++;
            if ((at === 0 ? lastByte : chunk[at - 1]) === NEWLINE) events++;
          }
          lastByte = chunk[chunk.length - 1] ?? lastByte;
          if (ttftMs === undefined && lines > 0) {
            ttftMs = performance.now() - startedAt;
            if (abortAfterFirstToken) {
              abortedAtNs = process.hrtime.bigint();
              controller.abort(new Error('bench: client abort'));
              return;
            }
          }
          tail.push(chunk);
          tailBytes += chunk.length;
          while (tail.length > 1 && tailBytes - (tail[0] as Buffer).length >= 4096) {
            tailBytes -= (tail.shift() as Buffer).length;
          }
        },
        onResponseEnd() {
          if (abortAfterFirstToken) {
            resolve(`${tag}: stream ended before the client aborted it`);
            return;
          }
          const body = Buffer.concat(tail);
          const problem =
            format === 'sse'
              ? checkSse(status, events, body, expected)
              : checkNdjson(status, lines, bytes, body, expected);
          resolve(problem === undefined ? { ttftMs: ttftMs ?? Number.NaN } : `${tag}: ${problem}`);
        },
        onResponseError(_controller, error) {
          if (abortedAtNs !== undefined) resolve({ ttftMs: ttftMs ?? Number.NaN, abortedAtNs });
          else resolve(`${tag}: ${error.message}`);
        },
      };
      this.pool.dispatch(
        {
          path: this.target.path,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: this.target.body(tag),
        },
        handler,
      );
    });
  }
}

function checkNdjson(
  status: number,
  lines: number,
  bytes: number,
  tail: Buffer,
  expected: Expected,
): string | undefined {
  if (status !== 200) return `status ${status}: ${tail.toString('utf8').slice(0, 200)}`;
  if (lines !== expected.tokens + 1) return `${lines} lines, expected ${expected.tokens} tokens + done`;
  const text = tail.toString('utf8');
  const last = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
  let final: { done?: unknown; eval_count?: unknown };
  try {
    final = JSON.parse(last);
  } catch {
    return `last line is not JSON: ${last.slice(0, 200)}`;
  }
  if (final.done !== true) return `last line is not the done frame: ${last.slice(0, 200)}`;
  if (final.eval_count !== expected.tokens)
    return `eval_count ${final.eval_count}, expected ${expected.tokens}`;
  if (bytes !== expected.bytes) return `${bytes} bytes, expected ${expected.bytes}`;
  return undefined;
}

/** Role and first token, the other tokens, the finish chunk, the usage chunk, then `[DONE]`. */
function checkSse(status: number, events: number, tail: Buffer, expected: Expected): string | undefined {
  const text = tail.toString('utf8');
  if (status !== 200) return `status ${status}: ${text.slice(0, 200)}`;
  if (events !== expected.tokens + 3)
    return `${events} events, expected ${expected.tokens} tokens + finish + usage + [DONE]`;
  if (!text.endsWith('data: [DONE]\n\n')) return `does not end with [DONE]: ${text.slice(-200)}`;
  if (!text.includes(`"completion_tokens":${expected.tokens},`))
    return `no usage chunk with completion_tokens ${expected.tokens}: ${text.slice(-400)}`;
  return undefined;
}
