// An in-process Ollama look-alike for tests: reproduces the wire protocol of /api/chat (NDJSON framing, delayed
// headers, Go JSON encoding, error envelopes, disconnect handling) plus the liveness/listing endpoints, with
// knobs for the failures a gateway has to survive. See /work/shared/reference/ollama-protocol.md §8.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type ChatJob, runChat } from './simulator-chat.js';
import { ChatExchange, JSON_TYPE } from './simulator-exchange.js';
import { chatTypeError, type GoDecoded, goDecode } from './simulator-go-decode.js';
import { type SimulatorControls, SimulatorServer } from './simulator-server.js';
import { goJson, type MetricName, nowNs, rfc3339Nano, tagEntry } from './simulator-wire.js';

export interface SimToolCall {
  id?: string;
  function: { index?: number; name: string; arguments: Record<string, unknown> };
}

export interface SimBehaviour {
  /** Content pieces, one chunk each. Default ['Hel', 'lo', ' wor', 'ld']. */
  tokens?: string[];
  /** Sent before the content, as chunks with content "" and message.thinking. */
  thinking?: string[];
  /** Sent as one chunk after the content; ids default to call_<8 random>, index to the position. */
  toolCalls?: SimToolCall[];
  /** Before anything, with no headers out; a client leaving here is a 499 'load' abort. */
  loadDelayMs?: number;
  /** After the load, before the first chunk (no headers yet either). */
  promptEvalDelayMs?: number;
  /** Before every chunk after the first (including the final one and an injected fault). */
  tokenDelayMs?: number;
  doneReason?: string;
  /** Defaults are measured or estimated; a 0 here is omitted from the final chunk like Go's omitempty. */
  finalMetrics?: Partial<Record<MetricName, number>>;
  /**
   * Fails after loadDelayMs, before any chunk: real status + JSON envelope. `legacy` (Ollama <= 0.12.5) sends
   * 200 NDJSON with one {"error"} line instead, as does any stream whose headers already went out.
   */
  preError?: { status: number; error: string; legacy?: boolean };
  /**
   * Fault injected after `afterChunks` intermediate chunks (capped at their number, i.e. before the done line).
   * error-line, destroy, end-without-done and stall end the response; garbage-line and oversized-line insert a
   * line and the stream carries on. With stream:false: error-line → 500 {"error"}, end-without-done → 200 with
   * the merged message but done:false (what Ollama's collector does), garbage-line → a 200 'not json' body,
   * oversized-line → its padding is merged into the content.
   */
  midStream?: {
    afterChunks: number;
    mode: 'error-line' | 'destroy' | 'end-without-done' | 'stall' | 'garbage-line' | 'oversized-line';
    message?: string;
    /** oversized-line: total line length including '\n'. Default 2 MiB. */
    bytes?: number;
  };
  /**
   * line: one write per line. split: three writes ~5 ms apart, cut inside multibyte characters when there are
   * any. coalesced: everything in one write at the end. held: a buffering proxy (headers pass at the first
   * line, the body in 16 KiB blocks and the rest at the end).
   */
  writeMode?: 'line' | 'split' | 'coalesced' | 'held';
  /** Never sends anything; the response ends only when the client leaves. */
  stallBeforeFirstChunk?: boolean;
  /** Flushes 200 + headers at once, like OpenAI-style servers (streaming only). */
  headersEarly?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The request target exactly as sent, query included. */
  target: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  rawBody: string;
  /** The client's port: requests sharing one are sharing a keep-alive connection. */
  remotePort: number | undefined;
}

export interface SimAbort {
  path: string;
  phase: 'load' | 'stream';
  /** performance.now() when the simulator saw the close. */
  at: number;
  /** What Ollama would have logged: 499 when nothing was sent yet, else the status already on the wire. */
  status: number;
}

/** Chat requests are POST /api/chat. */
export interface OllamaSimulator extends SimulatorControls<SimBehaviour> {
  /** Known models (mutable); a bare name also matches NAME:latest. Default ['qwen2.5:7b', 'llama3.2']. */
  models: string[];
  /** What /api/ps lists as loaded (mutable); undefined: every known model. */
  loaded: string[] | undefined;
  /**
   * Per chat request, in arrival order: how many characters of its conversation one of the runner's slots
   * already held, as Ollama's runner reuses the longest common prefix of a slot.
   */
  reusedPrefixChars: number[];
}

/** Prompt-cache slots per model runner, as OLLAMA_NUM_PARALLEL's usual 4. */
const SLOTS = 4;

const DEFAULT_MODELS = ['qwen2.5:7b', 'llama3.2'];
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Ollama resolves a bare name to its ':latest' tag and compares names case-insensitively. */
function canonicalModel(name: string): string {
  const tagged = name.lastIndexOf(':') > name.lastIndexOf('/');
  return (tagged ? name : `${name}:latest`).toLowerCase();
}

function promptTokens(body: Record<string, unknown>): number {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const chars = messages.reduce<number>(
    (sum, m) => sum + String((m as { content?: unknown })?.content ?? '').length,
    0,
  );
  return Math.max(1, Math.ceil(chars / 4) + 4 * messages.length);
}

class Simulator extends SimulatorServer<SimBehaviour> implements OllamaSimulator {
  private readonly startedNs = nowNs();
  loaded: string[] | undefined;
  reusedPrefixChars: number[] = [];
  /** Each slot's conversation text (prompt and reply), least recently used first. */
  private slots: string[] = [];

  constructor(
    private readonly version: string,
    models: string[],
  ) {
    super(models);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await this.readBody(req);
    if (rawBody === undefined) return;
    const decoded = rawBody.trim() ? goDecode(rawBody) : undefined;
    const body = decoded?.ok ? decoded.value : undefined;
    const recorded = this.record(req, rawBody, body);
    const { method, path } = recorded;

    const text = (status: number, contentType: string, payload: string) => {
      res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    const routes: Record<string, { methods: string[]; answer: () => void }> = {
      '/': { methods: ['GET', 'HEAD'], answer: () => text(200, TEXT_TYPE, 'Ollama is running') },
      '/api/version': {
        methods: ['GET', 'HEAD'],
        answer: () => text(200, JSON_TYPE, goJson({ version: this.version })),
      },
      '/api/tags': {
        methods: ['GET', 'HEAD'],
        answer: () =>
          text(200, JSON_TYPE, goJson({ models: this.models.map((m) => tagEntry(m, this.startedNs)) })),
      },
      '/api/chat': { methods: ['POST'], answer: () => this.chat(res, recorded, decoded) },
      '/api/show': { methods: ['POST'], answer: () => this.show(text, body) },
      '/api/ps': {
        methods: ['GET'],
        // Every known model counts as loaded: enough for clients that list them.
        answer: () =>
          text(
            200,
            JSON_TYPE,
            goJson({
              models: (this.loaded ?? this.models).map((m) => ({
                ...tagEntry(m, this.startedNs),
                expires_at: rfc3339Nano(this.startedNs),
              })),
            }),
          ),
      },
    };
    const route = routes[path];
    // gin's defaults: plain-text 404 for unknown paths, 405 (HandleMethodNotAllowed) for known ones.
    if (!route) return text(404, 'text/plain', '404 page not found');
    if (!route.methods.includes(method)) return text(405, 'text/plain', '405 method not allowed');
    route.answer();
  }

  private show(text: (status: number, type: string, payload: string) => void, body: unknown): void {
    const fields = (body ?? {}) as { model?: unknown; name?: unknown };
    const model = String(fields.model || fields.name || '');
    if (!model) {
      text(400, JSON_TYPE, goJson({ error: 'model is required' }));
      return;
    }
    const known = this.models.find((m) => m === model || `${m}:latest` === model || m === `${model}:latest`);
    if (!known) {
      text(404, JSON_TYPE, goJson({ error: `model '${model}' not found` }));
      return;
    }
    const tag = tagEntry(known, this.startedNs);
    text(
      200,
      JSON_TYPE,
      goJson({
        modelfile: `FROM ${tag.name}`,
        parameters: 'stop "<|im_end|>"',
        template: '{{ .Prompt }}',
        details: tag.details,
        model_info: { 'general.architecture': 'llama' },
        capabilities: ['completion', 'tools'],
        modified_at: tag.modified_at,
      }),
    );
  }

  private chat(res: ServerResponse, recorded: RecordedRequest, decoded: GoDecoded | undefined): void {
    const epoch = this.epoch;
    const recording = this.recording;
    const slot = recording ? this.sent.push(Buffer.alloc(0)) - 1 : -1;
    const sentBytes = new GrowingBytes();
    const hooks = this.hooks;
    const behaviour = hooks ? hooks.choose(recorded) : this.behaviour;
    let abort: SimAbort | undefined;
    let bytesSent = 0;
    this.active++;
    const exchange = new ChatExchange(res, behaviour.writeMode ?? 'line', {
      onBytes: (bytes) => {
        bytesSent += bytes.length;
        if (epoch !== this.epoch || !recording) return;
        this.sent[slot] = sentBytes.append(bytes);
      },
      onClientGone: (phase, status) => {
        abort = { path: recorded.path, phase, at: performance.now(), status };
        if (epoch !== this.epoch || !recording) return;
        this.aborts.push(abort);
        this.abortBox.put(abort);
      },
      onSettled: () => {
        this.active--;
        hooks?.onEnd?.(recorded, { abort, bytesSent });
      },
    });
    if (recording) this.requestBox.put(recorded);

    const job = this.validateChat(decoded);
    if ('error' in job) {
      exchange.send(job.status, JSON_TYPE, goJson({ error: job.error }));
      return;
    }
    this.useSlot(decoded?.ok ? (decoded.value as Record<string, unknown>) : {}, behaviour);
    runChat(exchange, behaviour, job).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  }

  override reset(): void {
    super.reset();
    this.reusedPrefixChars = [];
    this.slots = [];
  }

  /** The slot with the longest common prefix serves the request, and then holds it and its reply. */
  private useSlot(body: Record<string, unknown>, behaviour: SimBehaviour): void {
    const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
    const prompt = messages.map((m) => `<${String(m.role)}>${String(m.content ?? '')}`).join('');
    let best = -1;
    let reused = 0;
    this.slots.forEach((slot, index) => {
      let common = 0;
      while (common < slot.length && common < prompt.length && slot[common] === prompt[common]) common++;
      if (common > reused) {
        reused = common;
        best = index;
      }
    });
    this.reusedPrefixChars.push(reused);
    const reply = `<assistant>${(behaviour.tokens ?? ['Hel', 'lo', ' wor', 'ld']).join('')}`;
    if (best >= 0) this.slots.splice(best, 1);
    else if (this.slots.length >= SLOTS) this.slots.shift();
    this.slots.push(prompt + reply);
  }

  /** Same checks, same order and same texts as Ollama's ChatHandler. */
  private validateChat(decoded: GoDecoded | undefined): ChatJob | { status: number; error: string } {
    if (!decoded) return { status: 400, error: 'missing request body' };
    const decodeError = decoded.ok ? chatTypeError(decoded.value) : decoded.error;
    if (decodeError) return { status: 400, error: decodeError };
    const body = ((decoded.ok && decoded.value) || {}) as Record<string, unknown>;
    const model = typeof body.model === 'string' ? body.model : '';
    if (!model) return { status: 400, error: 'model is required' };
    if (!this.models.some((m) => canonicalModel(m) === canonicalModel(model))) {
      return { status: 404, error: `model '${model}' not found` };
    }
    return { model, streaming: body.stream !== false, promptTokens: promptTokens(body) };
  }
}

export async function startOllamaSimulator(
  options: { models?: string[]; version?: string } = {},
): Promise<OllamaSimulator> {
  return new Simulator(options.version ?? '0.33.0', options.models ?? DEFAULT_MODELS).listen();
}

/**
 * Bytes appended in place with a doubling capacity, so recording a long stream costs linear time (a concat
 * per write made a 10 MB reply take minutes). Each view returned stays as it was when returned.
 */
class GrowingBytes {
  private bytes = Buffer.alloc(1024);
  private length = 0;

  append(piece: Buffer): Buffer {
    if (this.length + piece.length > this.bytes.length) {
      const larger = Buffer.alloc(Math.max(this.bytes.length * 2, this.length + piece.length));
      this.bytes.copy(larger, 0, 0, this.length);
      this.bytes = larger;
    }
    piece.copy(this.bytes, this.length);
    this.length += piece.length;
    return this.bytes.subarray(0, this.length);
  }
}
