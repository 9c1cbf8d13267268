// The generation script for one /v1/chat/completions request: prompt processing, chunks, injected faults,
// finish chunk, usage, [DONE].
import { randomInt } from 'node:crypto';
import type { OpenAiSimBehaviour, OpenAiSimToolCall } from './openai-simulator.js';
import { JSON_TYPE, type SseExchange } from './openai-simulator-exchange.js';

const DEFAULT_TOKENS = ['Hel', 'lo', ' wor', 'ld'];
// OpenAI's own wording for an internal failure.
const SERVER_ERROR = 'The server had an error while processing your request. Sorry about that!';
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface CompletionJob {
  model: string;
  streaming: boolean;
  includeUsage: boolean;
  promptTokens: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface ToolFragment {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

interface Delta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: ToolFragment[];
}

type MidStream = NonNullable<OpenAiSimBehaviour['midStream']>;

export function randomId(prefix: string, length: number): string {
  return `${prefix}${Array.from({ length }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('')}`;
}

export function errorEnvelope(
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export function defaultErrorType(status: number): string {
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** Code points, not UTF-16 units: a piece must never end in half a surrogate pair. */
function argumentPieces(text: string): string[] {
  const chars = Array.from(text);
  if (chars.length < 2) return chars.length ? [text] : [];
  const count = chars.length < 3 ? 2 : 3;
  const size = Math.ceil(chars.length / count);
  return Array.from({ length: count }, (_, i) => chars.slice(i * size, (i + 1) * size).join('')).filter(
    Boolean,
  );
}

/** The role chunk's delta, then reasoning, content, and each tool call as OpenAI-style fragments. */
function plan(b: OpenAiSimBehaviour, toolCalls: OpenAiSimToolCall[]): Delta[] {
  return [
    { role: 'assistant', content: '' },
    ...(b.reasoning ?? []).map((piece) => ({ reasoning_content: piece })),
    ...(b.tokens ?? DEFAULT_TOKENS).map((piece) => ({ content: piece })),
    ...toolCalls.flatMap((call, index): Delta[] => [
      {
        tool_calls: [
          {
            index,
            id: call.id ?? randomId('call_', 24),
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      },
      ...argumentPieces(call.arguments).map((piece) => ({
        tool_calls: [{ index, function: { arguments: piece } }],
      })),
    ]),
  ];
}

/** The non-streamed message is the deltas merged the way a client merges them. */
function mergedMessage(produced: Delta[]): Record<string, unknown> {
  let content = '';
  let reasoning = '';
  const calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
  for (const delta of produced) {
    content += delta.content ?? '';
    reasoning += delta.reasoning_content ?? '';
    for (const fragment of delta.tool_calls ?? []) {
      calls[fragment.index] ??= {
        id: fragment.id ?? '',
        type: 'function',
        function: { name: fragment.function.name ?? '', arguments: '' },
      };
      const call = calls[fragment.index];
      if (call) call.function.arguments += fragment.function.arguments;
    }
  }
  return {
    role: 'assistant',
    // OpenAI answers null rather than "" when the reply is only tool calls.
    content: content || (calls.length ? null : ''),
    ...(reasoning ? { reasoning_content: reasoning } : {}),
    ...(calls.length ? { tool_calls: calls } : {}),
  };
}

const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

export async function runCompletion(
  x: SseExchange,
  b: OpenAiSimBehaviour,
  job: CompletionJob,
): Promise<void> {
  if (b.preError) {
    // The server works on the request before it fails, still without any headers out.
    await x.delay(b.promptDelayMs);
    const { status, message, type, code } = b.preError;
    return x.send(status, JSON_TYPE, errorEnvelope(message, type ?? defaultErrorType(status), code ?? null));
  }
  if (job.streaming) x.sendHeadersNow();
  if (b.stallBeforeFirstChunk) return x.untilClosed();
  await x.delay(b.promptDelayMs);
  if (x.closed) return;

  const id = randomId('chatcmpl-', 24);
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: 'chat.completion.chunk', created, model: job.model };
  // OpenAI puts "usage": null on every chunk once the client asked for usage.
  const chunk = (choices: unknown[], usage?: Usage) => ({
    ...head,
    choices,
    ...(usage ? { usage } : job.includeUsage ? { usage: null } : {}),
  });
  const completion = (message: unknown, finishReason: string | null, usage?: Usage) => ({
    ...head,
    object: 'chat.completion',
    choices: [{ index: 0, message, finish_reason: finishReason }],
    ...(usage ? { usage } : {}),
  });

  const toolCalls = b.toolCalls ?? [];
  const deltas = plan(b, toolCalls);
  const produced: Delta[] = [];
  const faultAt = b.midStream ? Math.min(b.midStream.afterChunks, deltas.length) : -1;
  for (let i = 0; i <= deltas.length; i++) {
    if (i > 0) await x.delay(b.tokenDelayMs);
    if (x.closed) return;
    if (i === faultAt && b.midStream) {
      const partial = () => JSON.stringify(completion(mergedMessage(produced), null));
      const proceed = await injectFault(x, b.midStream, job, partial);
      if (!proceed || x.closed) return;
    }
    const delta = deltas[i];
    if (!delta) break;
    produced.push(delta);
    x.chunksProduced++;
    if (job.streaming) await x.writeEvent(event(chunk([{ index: 0, delta, finish_reason: null }])));
  }
  if (x.closed) return;

  const finishReason = b.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop');
  // One token per generated chunk; the role chunk carries none.
  const completionTokens = b.usage?.completion_tokens ?? produced.length - 1;
  const promptTokens = b.usage?.prompt_tokens ?? job.promptTokens;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
  if (!job.streaming) {
    return x.send(200, JSON_TYPE, JSON.stringify(completion(mergedMessage(produced), finishReason, usage)));
  }
  const finish = [{ index: 0, delta: {}, finish_reason: finishReason }];
  await x.writeEvent(event(chunk(finish, b.usageOnFinishChunk ? usage : undefined)));
  if (job.includeUsage) await x.writeEvent(event(chunk([], usage)));
  await x.writeEvent('data: [DONE]\n\n');
  await x.end();
}

/** Returns whether generation continues after the fault. */
async function injectFault(
  x: SseExchange,
  fault: MidStream,
  job: CompletionJob,
  partialBody: () => string,
): Promise<boolean> {
  const message = fault.message ?? SERVER_ERROR;
  switch (fault.mode) {
    case 'error-event':
      if (!job.streaming) {
        x.send(500, JSON_TYPE, errorEnvelope(message, 'server_error'));
        return false;
      }
      await x.writeEvent(event({ error: { message, type: 'server_error' } }));
      await x.end();
      return false;
    case 'destroy':
      await x.destroy();
      return false;
    case 'end-without-done': {
      if (job.streaming) {
        await x.end();
        return false;
      }
      // Non-streamed, the nearest equivalent is a body that ends cleanly but holds half a JSON object.
      const body = partialBody();
      x.send(200, JSON_TYPE, body.slice(0, Math.floor(body.length / 2)));
      return false;
    }
    case 'stall':
      await x.untilClosed();
      return false;
    case 'garbage':
      if (!job.streaming) {
        x.send(200, JSON_TYPE, 'not json');
        return false;
      }
      await x.writeEvent('data: not json\n\n');
      return true;
  }
}
