import { NdjsonDecoder } from '../protocol/ndjson/ndjson-decoder.js';
import { ChatwireError, errorFromResponse } from './errors.js';
import type { ChatEvent, ChatStats } from './types.js';

// Generous: a line is one chunk, but a tool call's arguments can be large.
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Sends the request; called once, when iteration starts. */
export type OpenStream = () => Promise<Response>;

/** How a stream picks up a generation after its connection dropped (chatwire's resume routes). */
export interface Resumer {
  /** `GET /v1/generations/{id}/stream?after=N`. */
  resume(generationId: string, after: number): Promise<Response>;
  /** `POST /v1/generations/{id}/stop`: the caller left, so the generation it detached must end too. */
  stop(generationId: string): void;
  /** Resumes in a row without a new line before the stream gives up. */
  attempts: number;
  /** The caller's signal: its abort is never a drop to resume from. */
  signal?: AbortSignal;
}

/**
 * One streamed reply: an async iterable of events (use it once), or `.text()` for the whole text. Nothing is
 * sent until iteration starts, so a stream that is never read makes no request and leaves no unhandled rejection.
 * With a `resumer`, a connection that drops mid-reply is picked up where it stopped: the lines are counted,
 * and the rest of the generation is asked for after the last complete one, so no event is lost or repeated.
 */
export class ChatStream implements AsyncIterable<ChatEvent> {
  private started = false;

  constructor(
    private readonly open: OpenStream,
    private readonly resumer?: Resumer,
    /** The caller's signal: once it aborts, no further event is yielded, even one already read. */
    private readonly signal?: AbortSignal,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<ChatEvent> {
    if (this.started) throw new Error('a ChatStream can be read only once');
    this.started = true;
    return readEvents(this.open, this.resumer, this.signal);
  }

  /** The whole reply text, once the stream has ended with `done`. */
  async text(): Promise<string> {
    let text = '';
    for await (const event of this) if (event.type === 'text') text += event.text;
    return text;
  }
}

async function* readEvents(
  open: OpenStream,
  resumer: Resumer | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<ChatEvent> {
  const startedAt = now();
  let response = await open();
  if (!response.ok) throw await errorFromResponse(response);
  const generationId = resumer === undefined ? null : response.headers.get('chatwire-generation-id');
  let ttftMs: number | undefined;
  const timing = {
    firstToken: () => {
      ttftMs ??= now() - startedAt;
    },
    ttftMs: () => ttftMs,
  };
  /** Complete lines read over every connection: where a resume starts. */
  let frames = 0;
  let failures = 0;
  // Leaving the loop early (break, a throw in the consumer) must cancel the body, so the server stops generating.
  let finished = false;
  let over = false;
  try {
    for (;;) {
      if (!response.body) throw truncated();
      const reader = response.body.getReader();
      const decoder = new NdjsonDecoder<Uint8Array>(MAX_LINE_BYTES);
      let drop: unknown;
      try {
        for (;;) {
          let read: Awaited<ReturnType<typeof reader.read>>;
          try {
            read = await reader.read();
          } catch (error) {
            if (generationId === null || signal?.aborted) throw error;
            drop = error;
            break;
          }
          const { done, value } = read;
          // A resumable stream that ends early is resumed after its last complete line, not read to its cut.
          if (done && generationId !== null) {
            drop = truncated();
            break;
          }
          const lines = done ? [decoder.end()] : decoder.push(value);
          for (const line of lines) {
            if (!line) continue;
            if (line.error) throw new ChatwireError(line.error.message, 200, 'bad_response');
            frames++;
            failures = 0;
            // An error line ends the generation on the server too: nothing is left to stop.
            if ((line.value as { error?: unknown } | null)?.error !== undefined) over = true;
            for (const event of chunkEvents(line.value, timing)) {
              // One network read can hold several lines: those after the caller's abort are not its to see.
              if (signal?.aborted) throw signal.reason;
              yield event;
              if (event.type === 'done') {
                finished = true;
                return;
              }
            }
          }
          if (done) throw truncated();
        }
      } finally {
        if (!finished) await reader.cancel().catch(() => {});
        else reader.releaseLock();
      }
      response = await resume(resumer as Resumer, generationId as string, frames, ++failures, drop);
    }
  } finally {
    if (!finished && !over && generationId !== null) resumer?.stop(generationId);
  }
}

/** The rest of a generation after `after` frames; each try waits a little longer, up to the resumer's attempts. */
async function resume(
  resumer: Resumer,
  generationId: string,
  after: number,
  attempt: number,
  drop: unknown,
): Promise<Response> {
  let cause = drop;
  for (let tries = attempt; tries <= resumer.attempts; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (tries - 1)));
    let response: Response;
    try {
      response = await resumer.resume(generationId, after);
    } catch (error) {
      if (resumer.signal?.aborted) throw error;
      cause = error;
      continue;
    }
    if (response.status === 204)
      throw new ChatwireError(
        'the connection dropped and the reply can no longer be resumed',
        200,
        'truncated',
      );
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }
  throw new ChatwireError(
    `the connection dropped and ${resumer.attempts} resumes failed: ${(cause as Error)?.message ?? cause}`,
    0,
    'network_error',
    { cause },
  );
}

interface Timing {
  /** Records the time to first token, once. */
  firstToken(): void;
  ttftMs(): number | undefined;
}

/** The events one NDJSON line stands for. */
function* chunkEvents(value: unknown, { firstToken, ttftMs }: Timing): Generator<ChatEvent> {
  if (typeof value !== 'object' || value === null) {
    throw new ChatwireError(
      `chatwire sent a line that is not an object: ${JSON.stringify(value)}`,
      200,
      'bad_response',
    );
  }
  const chunk = value as OllamaChunk;
  if (chunk.error !== undefined) {
    throw new ChatwireError(String(chunk.error), 200, 'stream_error');
  }
  const message = chunk.message ?? {};
  if (typeof message.thinking === 'string' && message.thinking !== '') {
    firstToken();
    yield { type: 'thinking', text: message.thinking };
  }
  if (typeof message.content === 'string' && message.content !== '') {
    firstToken();
    yield { type: 'text', text: message.content };
  }
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    yield { type: 'tool_calls', toolCalls: message.tool_calls };
  }
  if (chunk.done === true) {
    yield {
      type: 'done',
      stats: statsOf(chunk, ttftMs()),
      ...(chunk.done_reason !== undefined && { doneReason: chunk.done_reason }),
      ...(chunk.model !== undefined && { model: chunk.model }),
    };
  }
}

/** The fields of an Ollama /api/chat chunk the client reads; durations are nanoseconds. */
export interface OllamaChunk {
  model?: string;
  message?: { content?: unknown; thinking?: unknown; tool_calls?: unknown };
  done?: boolean;
  done_reason?: string;
  total_duration?: number;
  prompt_eval_count?: number;
  eval_count?: number;
  eval_duration?: number;
  error?: unknown;
}

export function statsOf(chunk: OllamaChunk, ttftMs?: number): ChatStats {
  const completionTokens = chunk.eval_count ?? 0;
  const evalSeconds = (chunk.eval_duration ?? 0) / 1e9;
  return {
    promptTokens: chunk.prompt_eval_count ?? 0,
    completionTokens,
    totalDurationMs: (chunk.total_duration ?? 0) / 1e6,
    ...(ttftMs !== undefined && { ttftMs }),
    tokensPerSecond: evalSeconds > 0 ? completionTokens / evalSeconds : 0,
  };
}

function truncated(): ChatwireError {
  return new ChatwireError('the stream ended without its final done line', 200, 'truncated');
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}
