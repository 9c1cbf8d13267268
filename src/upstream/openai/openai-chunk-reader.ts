import type { ChatChunk, ChunkBatch, DeltaChunk, DoneChunk, ToolCall } from '../../contracts/chat-chunk.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { SseDecoder, type SseEvent } from '../../protocol/sse/sse-decoder.js';
import { midStreamError, statusForUpstreamStatus } from '../upstream-errors.js';

export const OPENAI_LABEL = 'OpenAI-compatible upstream';

interface CompletionChunkObject {
  model?: unknown;
  choices?: unknown;
  usage?: unknown;
  error?: unknown;
}

interface ChoiceObject {
  delta?: {
    content?: unknown;
    reasoning_content?: unknown;
    reasoning?: unknown;
    tool_calls?: unknown;
  } | null;
  finish_reason?: unknown;
}

interface ToolCallFragment {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

interface PendingToolCall {
  index: number;
  id?: string;
  name: string;
  arguments: string;
}

/**
 * Turns the events of a `/chat/completions` stream into chunks. The state it keeps is what OpenAI spreads
 * over several events but chatwire wants in one chunk: tool calls arrive as fragments and are emitted whole
 * when the choice finishes (Ollama's tool-call chunks carry parsed arguments, and half a call is of no use to
 * a client), and the finish reason and usage arrive on separate events before `[DONE]`.
 */
export class OpenAiChunkReader {
  /** Set once the final chunk was produced: later events are ignored. */
  finished = false;
  private model: string;
  private finishReason: string | undefined;
  private usage = { promptTokens: 0, completionTokens: 0 };
  private toolCalls: PendingToolCall[] = [];

  /** `model` stands in for the chunks' own `model` field until one arrives; not every server sends it. */
  constructor(model = '') {
    this.model = model;
  }

  /**
   * The chunks one event produces, often none: role-only, empty and usage-only events carry no token, and
   * skipping them keeps the gateway's first chunk (and with it the first-token deadline) honest.
   */
  event(event: SseEvent): ChatChunk[] {
    if (this.finished) return [];
    if (event.event === 'error') throw inBandError(errorEventObject(event.data));
    if (event.data === '[DONE]') return this.finish();
    const object = parseEventData(event.data);
    if (object.error !== undefined && object.error !== null && object.error !== '') {
      throw inBandError(object);
    }
    if (typeof object.model === 'string' && object.model !== '') this.model = object.model;
    this.readUsage(object.usage);
    const chunks: ChatChunk[] = [];
    // chatwire never asks for n > 1, so the first choice is the only one.
    const choice = Array.isArray(object.choices)
      ? (object.choices[0] as ChoiceObject | undefined)
      : undefined;
    if (typeof choice !== 'object' || choice === null) return chunks;
    const delta = choice.delta ?? {};
    const content = typeof delta.content === 'string' ? delta.content : '';
    const thinking = firstText(delta.reasoning_content, delta.reasoning);
    if (content !== '' || thinking !== '') {
      const chunk: DeltaChunk = { type: 'delta', model: this.model, content };
      if (thinking !== '') chunk.thinking = thinking;
      chunks.push(chunk);
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const fragment of delta.tool_calls) this.addFragment(fragment as ToolCallFragment);
    }
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') {
      this.finishReason = choice.finish_reason;
      const calls = this.takeToolCalls();
      if (calls !== undefined) chunks.push(calls);
    }
    return chunks;
  }

  /**
   * The body ended cleanly without `[DONE]`. Some servers stop after the finish reason, which is a complete
   * answer; without a finish reason the answer was cut short, and saying so beats a silent truncation.
   */
  end(): ChatChunk[] {
    if (this.finished) return [];
    if (this.finishReason === undefined) {
      throw new GatewayError(
        'upstream_stream_error',
        502,
        `${OPENAI_LABEL} ended the stream without a finish_reason`,
      );
    }
    return this.finish();
  }

  private finish(): ChatChunk[] {
    this.finished = true;
    const chunks: ChatChunk[] = [];
    // A server that sends [DONE] without a finish reason still sent whole calls.
    const calls = this.takeToolCalls();
    if (calls !== undefined) chunks.push(calls);
    const done: DoneChunk = {
      type: 'done',
      model: this.model,
      // Ollama's vocabulary has only these two; a finished tool call is 'stop' there too.
      doneReason: this.finishReason === 'length' ? 'length' : 'stop',
      usage: { ...this.usage },
      durations: {},
    };
    chunks.push(done);
    return chunks;
  }

  private readUsage(usage: unknown): void {
    // OpenAI sends "usage": null on every chunk but the last once usage was asked for.
    if (typeof usage !== 'object' || usage === null) return;
    const { prompt_tokens: prompt, completion_tokens: completion } = usage as Record<string, unknown>;
    if (typeof prompt === 'number' && Number.isFinite(prompt)) this.usage.promptTokens = prompt;
    if (typeof completion === 'number' && Number.isFinite(completion)) {
      this.usage.completionTokens = completion;
    }
  }

  private addFragment(fragment: ToolCallFragment): void {
    if (typeof fragment !== 'object' || fragment === null) return;
    const id = typeof fragment.id === 'string' && fragment.id !== '' ? fragment.id : undefined;
    const name = typeof fragment.function?.name === 'string' ? fragment.function.name : '';
    const piece = fragment.function?.arguments;
    const text = typeof piece === 'string' ? piece : piece == null ? '' : JSON.stringify(piece);
    const index = typeof fragment.index === 'number' ? fragment.index : this.impliedIndex(id);
    const call = this.toolCalls.find((pending) => pending.index === index);
    if (call === undefined) {
      this.toolCalls.push({ index, ...(id !== undefined && { id }), name, arguments: text });
      return;
    }
    call.id ??= id;
    if (call.name === '') call.name = name;
    call.arguments += text;
  }

  /** Some servers leave `index` out: a new id starts a call, anything else continues the latest one. */
  private impliedIndex(id: string | undefined): number {
    const last = this.toolCalls.at(-1);
    if (last === undefined) return 0;
    if (id === undefined || id === last.id) return last.index;
    return Math.max(...this.toolCalls.map((call) => call.index)) + 1;
  }

  private takeToolCalls(): DeltaChunk | undefined {
    if (this.toolCalls.length === 0) return undefined;
    const pending = this.toolCalls.sort((a, b) => a.index - b.index);
    this.toolCalls = [];
    const toolCalls = pending.map((call, position): ToolCall => {
      const toolCall: ToolCall = {
        function: { index: position, name: call.name, arguments: parseArguments(call) },
      };
      if (call.id !== undefined) toolCall.id = call.id;
      return toolCall;
    });
    return { type: 'delta', model: this.model, content: '', toolCalls };
  }
}

/**
 * A `/chat/completions` body as chunk batches, one per network read. Ends after the final chunk; throws a
 * GatewayError for an in-band error, a bad event, a dropped connection or an end without a finish reason,
 * after yielding the chunks that came before the failure.
 */
export async function* readOpenAiChunks(
  body: AsyncIterable<Uint8Array>,
  eventLimitBytes: number,
  signal: AbortSignal,
  model = '',
): AsyncGenerator<ChunkBatch> {
  const decoder = new SseDecoder(eventLimitBytes);
  const reader = new OpenAiChunkReader(model);
  let failure: unknown;
  try {
    for await (const data of body) {
      // Whatever follows the final chunk is ignored but read to the end, so the connection goes back to the pool.
      if (reader.finished) continue;
      const batch: ChunkBatch = [];
      for (const item of decoder.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) {
        try {
          if (item.error) throw new GatewayError('upstream_protocol_error', 502, item.error.message);
          batch.push(...reader.event(item));
        } catch (error) {
          failure = error;
          break;
        }
        if (reader.finished) break;
      }
      if (batch.length > 0) yield batch;
      if (failure !== undefined) throw failure;
    }
  } catch (error) {
    if (error === failure) throw error;
    throw midStreamError(OPENAI_LABEL, error, signal);
  }
  if (reader.finished) return;
  const batch: ChunkBatch = [];
  for (const item of decoder.end()) {
    if (item.error) throw new GatewayError('upstream_protocol_error', 502, item.error.message);
    batch.push(...reader.event(item));
  }
  batch.push(...reader.end());
  yield batch;
}

function parseEventData(data: string): CompletionChunkObject {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    const preview = data.length > 80 ? `${data.slice(0, 80)}…` : data.trimEnd();
    throw new GatewayError(
      'upstream_protocol_error',
      502,
      `${OPENAI_LABEL} sent an event that is not JSON: ${JSON.stringify(preview)}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError(
      'upstream_protocol_error',
      502,
      `${OPENAI_LABEL} sent an event that is not a JSON object`,
    );
  }
  return value as CompletionChunkObject;
}

/** `event: error` data is an OpenAI envelope on most servers, but may be a bare error object or plain text. */
function errorEventObject(data: string): CompletionChunkObject {
  try {
    const value = JSON.parse(data) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const object = value as CompletionChunkObject;
      return object.error !== undefined && object.error !== null ? object : { error: object };
    }
  } catch {
    // plain text: it is the message
  }
  return { error: data.trim() === '' ? `${OPENAI_LABEL} sent an error event` : data.trim() };
}

/**
 * An error the server reported inside the stream. OpenAI-style servers commit to 200 before generating, so
 * this is also how a failure before the first token arrives: a numeric `code` (llama.cpp, vLLM) is an HTTP
 * status and keeps its meaning for the client.
 */
function inBandError(object: CompletionChunkObject): GatewayError {
  const error = object.error;
  let message: string;
  let code: unknown;
  if (typeof error === 'string') {
    message = error;
  } else {
    const nested = error as { message?: unknown; code?: unknown };
    code = nested.code;
    message =
      typeof nested.message === 'string' && nested.message !== '' ? nested.message : JSON.stringify(error);
  }
  const status = typeof code === 'number' && code >= 400 && code <= 599 ? statusForUpstreamStatus(code) : 502;
  return new GatewayError('upstream_stream_error', status, message);
}

function parseArguments(call: PendingToolCall): Record<string, unknown> {
  // A function without parameters may be called with no argument text at all.
  if (call.arguments.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(call.arguments);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const preview = call.arguments.length > 80 ? `${call.arguments.slice(0, 80)}…` : call.arguments;
    throw new GatewayError(
      'upstream_protocol_error',
      502,
      `${OPENAI_LABEL} sent arguments for tool call '${call.name}' that are not a JSON object: ${JSON.stringify(preview)}`,
    );
  }
  return value as Record<string, unknown>;
}

function firstText(...values: unknown[]): string {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return '';
}
