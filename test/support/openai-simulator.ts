// An in-process OpenAI-compatible upstream for tests, in the shape llama.cpp server, vLLM, LM Studio and OpenAI
// share: SSE framing of /v1/chat/completions with headers out before the first token, tool calls in fragments,
// the usage chunk, OpenAI error envelopes, and knobs for the failures a gateway has to survive. Same API shape as
// ollama-simulator.ts. See /work/shared/reference/ollama-protocol.md §5.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RecordedRequest, SimAbort } from './ollama-simulator.js';
import { type CompletionJob, errorEnvelope, runCompletion } from './openai-simulator-chat.js';
import { JSON_TYPE, SseExchange } from './openai-simulator-exchange.js';
import { checkApiKey, modelNotFound, type Rejection, validateChat } from './openai-simulator-request.js';
import { type SimulatorControls, SimulatorServer } from './simulator-server.js';

export type { RecordedRequest, SimAbort } from './ollama-simulator.js';

export interface OpenAiSimToolCall {
  /** Default call_<24 random>. */
  id?: string;
  name: string;
  /** JSON text, streamed as the first fragment's '' followed by 2-3 pieces. */
  arguments: string;
}

export interface OpenAiSimBehaviour {
  /** Content pieces, one chunk each. Default ['Hel', 'lo', ' wor', 'ld']. */
  tokens?: string[];
  /** Sent before the content, as chunks with delta.reasoning_content (llama.cpp / vLLM naming). */
  reasoning?: string[];
  /** Sent after the content, each as a first fragment (id, type, name, arguments '') and argument pieces. */
  toolCalls?: OpenAiSimToolCall[];
  /** After the headers (streaming) and before the role chunk; a client leaving here is a 'load' abort. */
  promptDelayMs?: number;
  /** Before every chunk after the role chunk (including the finish chunk and an injected fault). */
  tokenDelayMs?: number;
  /** Default 'stop', or 'tool_calls' when there are tool calls. */
  finishReason?: 'stop' | 'length' | 'tool_calls';
  /**
   * Default: the prompt estimated from the messages, one completion token per generated chunk. Sent as a last
   * chunk with choices [] when the request has stream_options.include_usage (other chunks then carry
   * "usage": null, as OpenAI does), and always in the non-streamed reply.
   */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Also puts usage on the finish chunk, as llama.cpp does. */
  usageOnFinishChunk?: boolean;
  /**
   * Fails after promptDelayMs, before any header: real status + {"error":{message,type,param,code}}. type
   * defaults to server_error for 5xx, else invalid_request_error.
   */
  preError?: { status: number; message: string; type?: string; code?: string | null };
  /**
   * Fault injected after `afterChunks` data events (the role chunk counts; capped at the chunks before the finish
   * chunk). error-event: an in-band {"error":{message,type:"server_error"}} event, then the body ends.
   * end-without-done: the body ends with no finish chunk and no [DONE]. garbage: a `data: not json` event, then
   * the stream carries on. With stream:false: error-event → 500 envelope, end-without-done → 200 with half a
   * JSON body, garbage → 200 'not json'.
   */
  midStream?: {
    afterChunks: number;
    mode: 'error-event' | 'destroy' | 'end-without-done' | 'stall' | 'garbage';
    message?: string;
  };
  /**
   * event: one write per event. split: three writes ~5 ms apart, cut inside multibyte characters when there are
   * any, and between '\r' and '\n' with CRLF line ends. coalesced: everything in one write at the end (the
   * headers still go out first).
   */
  writeMode?: 'event' | 'split' | 'coalesced';
  /** Default 'lf'. */
  lineEnding?: 'lf' | 'crlf';
  /** Writes a ': ping' comment before every event. */
  keepAliveComments?: boolean;
  /** Sends the headers and nothing else; the response ends only when the client leaves. */
  stallBeforeFirstChunk?: boolean;
  /** Requests without `Authorization: Bearer <key>` get OpenAI's 401, on every route. */
  requireApiKey?: string;
}

/** Chat requests are POST /v1/chat/completions. */
export interface OpenAiSimulator extends SimulatorControls<OpenAiSimBehaviour> {
  /** 'http://127.0.0.1:PORT', without /v1; the API is under /v1. */
  url: string;
  /** Known model ids (mutable), matched exactly as OpenAI-style servers do. Default ['gpt-4o-mini', 'qwen2.5-7b-instruct']. */
  models: string[];
}

const DEFAULT_MODELS = ['gpt-4o-mini', 'qwen2.5-7b-instruct'];
const CHAT_PATH = '/v1/chat/completions';
const MODELS_PATH = '/v1/models';

class Simulator extends SimulatorServer<OpenAiSimBehaviour> implements OpenAiSimulator {
  private readonly startedAt = Math.floor(Date.now() / 1000);

  constructor(models: string[]) {
    super(models);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await this.readBody(req);
    if (rawBody === undefined) return;
    let body: unknown;
    let parseFailed = false;
    try {
      body = rawBody.trim() ? JSON.parse(rawBody) : undefined;
    } catch {
      parseFailed = true;
    }
    const recorded = this.record(req, rawBody, body);
    const { method, path } = recorded;
    const behaviour = this.hooks && path === CHAT_PATH ? this.hooks.choose(recorded) : this.behaviour;
    const rejection = checkApiKey(behaviour, recorded);

    if (method === 'POST' && path === CHAT_PATH) {
      return this.chat(res, recorded, behaviour, rejection ?? validateChat(body, parseFailed, this.models));
    }
    const json = (status: number, payload: string) => {
      res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    if (rejection) return json(rejection.status, rejection.body);
    if (method === 'GET' && path === MODELS_PATH) {
      return json(
        200,
        JSON.stringify({ object: 'list', data: this.models.map((id) => this.modelEntry(id)) }),
      );
    }
    if (method === 'GET' && path.startsWith(`${MODELS_PATH}/`)) {
      // Model ids may contain '/' (e.g. 'meta-llama/Llama-3.2-3B-Instruct'), so the whole rest is the id.
      const id = decodeURIComponent(path.slice(MODELS_PATH.length + 1));
      if (this.models.includes(id)) return json(200, JSON.stringify(this.modelEntry(id)));
      const notFound = modelNotFound(id);
      return json(notFound.status, notFound.body);
    }
    // OpenAI answers a wrong path and a wrong method alike.
    json(404, errorEnvelope(`Invalid URL (${method} ${path})`, 'invalid_request_error'));
  }

  private modelEntry(id: string): Record<string, unknown> {
    return { id, object: 'model', created: this.startedAt, owned_by: 'system' };
  }

  private chat(
    res: ServerResponse,
    recorded: RecordedRequest,
    behaviour: OpenAiSimBehaviour,
    job: CompletionJob | Rejection,
  ): void {
    const epoch = this.epoch;
    const recording = this.recording;
    const slot = recording ? this.sent.push(Buffer.alloc(0)) - 1 : -1;
    const hooks = this.hooks;
    let abort: SimAbort | undefined;
    let bytesSent = 0;
    this.active++;
    const options = {
      writeMode: behaviour.writeMode ?? 'event',
      lineEnding: behaviour.lineEnding ?? 'lf',
      keepAliveComments: behaviour.keepAliveComments ?? false,
    };
    const exchange = new SseExchange(res, options, {
      onBytes: (bytes) => {
        bytesSent += bytes.length;
        if (epoch !== this.epoch || !recording) return;
        this.sent[slot] = Buffer.concat([this.sent[slot] ?? Buffer.alloc(0), bytes]);
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

    if ('body' in job) {
      exchange.send(job.status, JSON_TYPE, job.body);
      return;
    }
    runCompletion(exchange, behaviour, job).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  }
}

export async function startOpenAiSimulator(options: { models?: string[] } = {}): Promise<OpenAiSimulator> {
  return new Simulator(options.models ?? DEFAULT_MODELS).listen();
}
