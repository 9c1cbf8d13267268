import { randomBytes, randomUUID } from 'node:crypto';
import type { ChatChunk, ChunkBatch, DoneChunk, ToolCall } from '../../contracts/chat-chunk.js';
import type { GatewayError } from '../../contracts/gateway-error.js';
import { mergeReply } from '../../contracts/merge-reply.js';
import { encodeSseComment, encodeSseData, SSE_DONE } from '../sse/sse-encoder.js';
import { openAiErrorBody } from './openai-error.js';

export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

/** A unique id per completion (Ollama's own layer draws from 999 values). */
export function newCompletionIdentity(model: string): CompletionIdentity {
  return {
    id: `chatcmpl-${randomUUID().replaceAll('-', '')}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

/**
 * OpenAI's `chat.completion.chunk` stream, translated from chunks: role on the first chunk, reasoning as
 * `reasoning_content`, whole tool calls as single fragments, a separate finish chunk, the usage chunk when
 * asked for, then `[DONE]`. One instance per response: it remembers what it has sent.
 */
export class OpenAiStreamEncoder {
  readonly contentType = 'text/event-stream';
  readonly format = 'sse' as const;
  private roleSent = false;
  private toolCalls = 0;

  constructor(
    private readonly identity: CompletionIdentity,
    private readonly includeUsage: boolean,
  ) {}

  batch(batch: ChunkBatch): string {
    return this.frames(batch).join('');
  }

  /** One frame per SSE event, in order, for a generation's log (which adds each its `id:`). */
  frames(batch: ChunkBatch): string[] {
    const out: string[] = [];
    for (const chunk of batch) {
      if (chunk.type === 'delta') this.delta(chunk, out);
      else this.done(chunk, out);
    }
    return out;
  }

  errorLine(error: GatewayError): string {
    return openAiErrorEvent(error);
  }

  keepAlive(): string {
    return encodeSseComment('ping');
  }

  private delta(chunk: Extract<ChatChunk, { type: 'delta' }>, out: string[]): void {
    if (chunk.thinking) out.push(this.event({ reasoning_content: chunk.thinking }));
    if (chunk.content !== '') out.push(this.event({ content: chunk.content }));
    if (chunk.toolCalls) {
      const calls = chunk.toolCalls.map((call) => toToolCallFragment(call, this.toolCalls++));
      out.push(this.event({ tool_calls: calls }));
    }
  }

  private done(chunk: DoneChunk, out: string[]): void {
    if (!this.roleSent) out.push(this.event({ content: '' }));
    out.push(this.event({}, finishReason(chunk, this.toolCalls > 0)));
    if (this.includeUsage)
      out.push(encodeSseData(JSON.stringify({ ...this.envelope([]), usage: usageOf(chunk) })));
    out.push(SSE_DONE);
  }

  private event(delta: Record<string, unknown>, finish: string | null = null): string {
    if (!this.roleSent) {
      this.roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    const choice = { index: 0, delta, logprobs: null, finish_reason: finish };
    const object = this.envelope([choice]);
    if (this.includeUsage) object.usage = null;
    return encodeSseData(JSON.stringify(object));
  }

  private envelope(choices: unknown[]): Record<string, unknown> {
    const { id, created, model } = this.identity;
    return { id, object: 'chat.completion.chunk', created, model, choices };
  }
}

/** The in-band end of an SSE stream that failed after its status was sent: one `data: {"error":…}` event. */
export function openAiErrorEvent(error: GatewayError): string {
  return encodeSseData(
    JSON.stringify(openAiErrorBody(error.statusCode, error.message, { code: error.code })),
  );
}

/** The non-streaming `chat.completion` object. */
export function toChatCompletion(identity: CompletionIdentity, chunks: ChatChunk[]): Record<string, unknown> {
  const merged = mergeReply(chunks);
  const { content, thinking: reasoning, done } = merged;
  const toolCalls = merged.toolCalls.map(toToolCall);
  const message: Record<string, unknown> = {
    role: 'assistant',
    // OpenAI sends null content with tool calls and no text.
    content: content === '' && toolCalls.length > 0 ? null : content,
  };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(done, toolCalls.length > 0) }],
    usage: usageOf(done),
  };
}

function finishReason(done: DoneChunk, sawToolCalls: boolean): string {
  if (sawToolCalls) return 'tool_calls';
  return done.doneReason === 'length' ? 'length' : 'stop';
}

function usageOf(done: DoneChunk) {
  const { promptTokens, completionTokens } = done.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function toToolCall(call: ToolCall) {
  return {
    id: call.id ?? `call_${randomBytes(12).toString('hex')}`,
    type: 'function',
    function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) },
  };
}

/** A whole call as one fragment: the SDKs accumulate fragments, and one complete fragment is a valid stream. */
function toToolCallFragment(call: ToolCall, index: number) {
  return { index, ...toToolCall(call) };
}
