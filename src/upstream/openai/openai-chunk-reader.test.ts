import { describe, expect, it } from 'vitest';
import type { ChatChunk, ChunkBatch } from '../../contracts/chat-chunk.js';
import { GatewayError } from '../../contracts/gateway-error.js';
import { OpenAiChunkReader, readOpenAiChunks } from './openai-chunk-reader.js';

const HEAD = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1767261600, model: 'gpt-4o-mini' };

const delta = (value: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ ...HEAD, choices: [{ index: 0, delta: value, finish_reason: finish }] })}\n\n`;
const finish = (reason: string) => delta({}, reason);
const usage = (prompt: number, completion: number) =>
  `data: ${JSON.stringify({ ...HEAD, choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } })}\n\n`;
const DONE = 'data: [DONE]\n\n';

/** A response body that delivers `reads` one network read each, then ends or fails. */
async function* body(reads: Array<string | Buffer>, failure?: Error): AsyncGenerator<Buffer> {
  for (const read of reads) yield typeof read === 'string' ? Buffer.from(read, 'utf8') : read;
  if (failure) throw failure;
}

async function collect(
  reads: Array<string | Buffer>,
  options: { failure?: Error; signal?: AbortSignal; limit?: number } = {},
): Promise<{ batches: ChunkBatch[]; error?: unknown }> {
  const batches: ChunkBatch[] = [];
  try {
    const chunks = readOpenAiChunks(
      body(reads, options.failure),
      options.limit ?? 64 * 1024,
      options.signal ?? new AbortController().signal,
      'requested-model',
    );
    for await (const batch of chunks) batches.push(batch);
    return { batches };
  } catch (error) {
    return { batches, error };
  }
}

const contents = (batches: ChunkBatch[]) =>
  batches.flat().flatMap((chunk) => (chunk.type === 'delta' ? [chunk.content] : []));
const doneOf = (batches: ChunkBatch[]) => batches.flat().find((chunk) => chunk.type === 'done');

function expectGatewayError(error: unknown, code: string, status: number, message: string | RegExp) {
  expect(error).toBeInstanceOf(GatewayError);
  const failure = error as GatewayError;
  expect({ code: failure.code, status: failure.statusCode }).toEqual({ code, status });
  if (typeof message === 'string') expect(failure.message).toBe(message);
  else expect(failure.message).toMatch(message);
}

describe('readOpenAiChunks', () => {
  it('turns a stream into deltas and a done chunk with the usage, one batch per read', async () => {
    const { batches, error } = await collect([
      delta({ role: 'assistant', content: '' }),
      delta({ content: 'Hel' }),
      delta({ content: 'lo' }) + finish('stop'),
      usage(26, 2) + DONE,
    ]);
    expect(error).toBeUndefined();
    expect(batches).toEqual([
      [{ type: 'delta', model: 'gpt-4o-mini', content: 'Hel' }],
      [{ type: 'delta', model: 'gpt-4o-mini', content: 'lo' }],
      [
        {
          type: 'done',
          model: 'gpt-4o-mini',
          doneReason: 'stop',
          usage: { promptTokens: 26, completionTokens: 2 },
          durations: {},
        },
      ],
    ]);
  });

  it('skips events that carry nothing, so the first batch holds the first real token', async () => {
    const { batches } = await collect([
      ': ping\n\n',
      delta({ role: 'assistant' }),
      delta({ role: 'assistant', content: '' }),
      `data: ${JSON.stringify({ ...HEAD, choices: [{ index: 0, delta: { content: null }, finish_reason: null }], usage: null })}\n\n`,
      delta({ content: 'a' }),
      finish('stop') + DONE,
    ]);
    expect(batches[0]).toEqual([{ type: 'delta', model: 'gpt-4o-mini', content: 'a' }]);
    expect(batches).toHaveLength(2);
  });

  it('reads reasoning_content and reasoning as thinking', async () => {
    const { batches } = await collect([
      delta({ reasoning_content: 'Let me ' }),
      delta({ reasoning: 'think' }),
      delta({ content: 'Yes' }),
      finish('stop') + DONE,
    ]);
    expect(batches.flat().slice(0, 3)).toEqual([
      { type: 'delta', model: 'gpt-4o-mini', content: '', thinking: 'Let me ' },
      { type: 'delta', model: 'gpt-4o-mini', content: '', thinking: 'think' },
      { type: 'delta', model: 'gpt-4o-mini', content: 'Yes' },
    ]);
  });

  it('assembles tool-call fragments into one chunk of whole calls when the choice finishes', async () => {
    const { batches, error } = await collect([
      delta({ role: 'assistant', content: null }),
      delta({
        tool_calls: [
          { index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      delta({
        tool_calls: [
          { index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      }),
      finish('tool_calls'),
      usage(10, 7) + DONE,
    ]);
    expect(error).toBeUndefined();
    expect(batches).toEqual([
      [
        {
          type: 'delta',
          model: 'gpt-4o-mini',
          content: '',
          toolCalls: [
            { id: 'call_a', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } },
            { id: 'call_b', function: { index: 1, name: 'get_time', arguments: {} } },
          ],
        },
      ],
      [
        {
          type: 'done',
          model: 'gpt-4o-mini',
          doneReason: 'stop',
          usage: { promptTokens: 10, completionTokens: 7 },
          durations: {},
        },
      ],
    ]);
  });

  it('assembles fragments that leave out the index', async () => {
    const { batches } = await collect([
      delta({ tool_calls: [{ id: 'call_a', function: { name: 'f', arguments: '{"a"' } }] }),
      delta({ tool_calls: [{ function: { arguments: ':1}' } }] }),
      delta({ tool_calls: [{ id: 'call_b', function: { name: 'g', arguments: '{}' } }] }),
      finish('tool_calls') + DONE,
    ]);
    expect(batches.flat()[0]).toMatchObject({
      toolCalls: [
        { id: 'call_a', function: { index: 0, name: 'f', arguments: { a: 1 } } },
        { id: 'call_b', function: { index: 1, name: 'g', arguments: {} } },
      ],
    });
  });

  it('accepts a whole tool call with its finish reason in one event (Ollama, older llama.cpp)', async () => {
    const { batches } = await collect([
      delta(
        {
          tool_calls: [
            { index: 0, id: 'call_x', type: 'function', function: { name: 'f', arguments: '{"q":"ü"}' } },
          ],
        },
        'tool_calls',
      ) + DONE,
    ]);
    expect(batches.flat()[0]).toMatchObject({
      toolCalls: [{ function: { name: 'f', arguments: { q: 'ü' } } }],
    });
  });

  it('tool-call arguments that are not a JSON object: a protocol error', async () => {
    const { batches, error } = await collect([
      delta({ content: 'ok' }),
      delta({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"a":' } }] }),
      finish('tool_calls') + DONE,
    ]);
    expect(contents(batches)).toEqual(['ok']);
    expectGatewayError(
      error,
      'upstream_protocol_error',
      502,
      /arguments for tool call 'f' .*not a JSON object: "\{\\"a\\":"/,
    );
  });

  it.each([
    ['length', 'length'],
    ['stop', 'stop'],
    ['tool_calls', 'stop'],
    ['content_filter', 'stop'],
  ])('finish_reason %s becomes done_reason %s', async (reason, doneReason) => {
    const { batches } = await collect([delta({ content: 'a' }), finish(reason) + DONE]);
    expect(doneOf(batches)).toMatchObject({ doneReason });
  });

  it('reads usage from the finish chunk too (llama.cpp)', async () => {
    const withUsage = `data: ${JSON.stringify({ ...HEAD, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1 } })}\n\n`;
    const { batches } = await collect([delta({ content: 'a' }), withUsage + DONE]);
    expect(doneOf(batches)).toMatchObject({ usage: { promptTokens: 5, completionTokens: 1 } });
  });

  it('without usage and without a model field: zero counts and the requested model', async () => {
    const bare = (value: Record<string, unknown>, reason: string | null = null) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: value, finish_reason: reason }] })}\n\n`;
    const { batches } = await collect([bare({ content: 'a' }), bare({}, 'stop') + DONE]);
    expect(batches.flat()).toEqual([
      { type: 'delta', model: 'requested-model', content: 'a' },
      {
        type: 'done',
        model: 'requested-model',
        doneReason: 'stop',
        usage: { promptTokens: 0, completionTokens: 0 },
        durations: {},
      },
    ]);
  });

  it('a clean end after the finish reason but without [DONE] still completes', async () => {
    const { batches, error } = await collect([delta({ content: 'a' }), finish('stop')]);
    expect(error).toBeUndefined();
    expect(doneOf(batches)).toMatchObject({ doneReason: 'stop' });
  });

  it('a clean end without a finish reason: an error after the chunks that came', async () => {
    const { batches, error } = await collect([delta({ content: 'a' }), delta({ content: 'b' })]);
    expect(contents(batches)).toEqual(['a', 'b']);
    expectGatewayError(
      error,
      'upstream_stream_error',
      502,
      'OpenAI-compatible upstream ended the stream without a finish_reason',
    );
  });

  it('ignores what follows [DONE] but reads it, so the connection can be reused', async () => {
    let reads = 0;
    async function* counting(): AsyncGenerator<Buffer> {
      for (const read of [
        delta({ content: 'a' }) + finish('stop') + DONE + delta({ content: 'late' }),
        'junk',
      ]) {
        reads++;
        yield Buffer.from(read);
      }
    }
    const batches: ChunkBatch[] = [];
    for await (const batch of readOpenAiChunks(counting(), 1024, new AbortController().signal)) {
      batches.push(batch);
    }
    expect(contents(batches)).toEqual(['a']);
    expect(reads).toBe(2);
  });

  it('an in-band error event: the chunks before it, then its message', async () => {
    const { batches, error } = await collect([
      delta({ content: 'a' }),
      `data: ${JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } })}\n\n`,
    ]);
    expect(contents(batches)).toEqual(['a']);
    expectGatewayError(error, 'upstream_stream_error', 502, 'The server had an error');
  });

  it('an in-band error with an HTTP code keeps its status (llama.cpp, vLLM errors before the first token)', async () => {
    const { error } = await collect([
      `data: ${JSON.stringify({ error: { code: 400, message: 'the request exceeds the context size', type: 'invalid_request_error' } })}\n\n`,
    ]);
    expectGatewayError(error, 'upstream_stream_error', 400, 'the request exceeds the context size');
  });

  it('an in-band error given as a string', async () => {
    const { error } = await collect([`data: {"error":"runner died"}\n\n`]);
    expectGatewayError(error, 'upstream_stream_error', 502, 'runner died');
  });

  it.each([
    [
      'an OpenAI envelope',
      JSON.stringify({ error: { message: 'overloaded', code: 503 } }),
      'overloaded',
      503,
    ],
    ['a bare error object', JSON.stringify({ message: 'overloaded' }), 'overloaded', 502],
    ['plain text', 'overloaded', 'overloaded', 502],
    ['nothing', '', 'OpenAI-compatible upstream sent an error event', 502],
  ])('event: error with %s', async (_kind, data, message, status) => {
    const { error } = await collect([delta({ content: 'a' }), `event: error\ndata: ${data}\n\n`]);
    expectGatewayError(error, 'upstream_stream_error', status, message);
  });

  it('data that is not JSON: a protocol error quoting it', async () => {
    const { batches, error } = await collect([`${delta({ content: 'a' })}data: not json\n\n`]);
    expect(contents(batches)).toEqual(['a']);
    expectGatewayError(
      error,
      'upstream_protocol_error',
      502,
      'OpenAI-compatible upstream sent an event that is not JSON: "not json"',
    );
  });

  it('JSON that is not an object: a protocol error', async () => {
    const { error } = await collect(['data: [1,2]\n\n']);
    expectGatewayError(error, 'upstream_protocol_error', 502, /not a JSON object/);
  });

  it('an event over the limit: a protocol error naming the limit', async () => {
    const { batches, error } = await collect(
      [delta({ content: 'a' }), delta({ content: 'x'.repeat(2000) })],
      {
        limit: 1024,
      },
    );
    expect(contents(batches)).toEqual(['a']);
    expectGatewayError(error, 'upstream_protocol_error', 502, /1024-byte event limit/);
  });

  it('a body cut inside an event: a protocol error', async () => {
    const { error } = await collect([delta({ content: 'a' }), 'data: {"choices":[']);
    expectGatewayError(error, 'upstream_protocol_error', 502, /middle of an SSE event/);
  });

  it('a dropped connection: the chunks before it, then why it was lost', async () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const { batches, error } = await collect([delta({ content: 'a' })], { failure: reset });
    expect(contents(batches)).toEqual(['a']);
    expectGatewayError(
      error,
      'upstream_stream_error',
      502,
      'connection to OpenAI-compatible upstream lost mid-stream: other side closed',
    );
  });

  it('a dropped connection after the finish reason but before [DONE] is still a lost connection', async () => {
    const { error } = await collect([delta({ content: 'a' }) + finish('stop')], {
      failure: new Error('reset'),
    });
    expectGatewayError(error, 'upstream_stream_error', 502, /lost mid-stream: reset/);
  });

  it('when the signal was aborted, its reason is the failure', async () => {
    const controller = new AbortController();
    const reason = new GatewayError('idle_timeout', 504, 'stalled');
    controller.abort(reason);
    const { error } = await collect([delta({ content: 'a' })], {
      signal: controller.signal,
      failure: new Error('aborted'),
    });
    expect(error).toBe(reason);
  });

  it('reads the same answer however the bytes are split, CRLF and multibyte characters included', async () => {
    const text = [
      ': ping\n\n',
      delta({ role: 'assistant', content: '' }),
      delta({ content: 'héllo' }),
      delta({ content: ' 日本' }),
      delta({ content: ' 🙂' }),
      finish('stop'),
      usage(3, 3),
      DONE,
    ]
      .join('')
      .replace(/\n/g, '\r\n');
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const { batches, error } = await collect([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(error).toBeUndefined();
      expect(contents(batches).join('')).toBe('héllo 日本 🙂');
      expect(doneOf(batches)).toMatchObject({ usage: { promptTokens: 3, completionTokens: 3 } });
    }
  });
});

describe('OpenAiChunkReader', () => {
  it('emits pending tool calls at [DONE] when no finish reason came', () => {
    const reader = new OpenAiChunkReader();
    const event = (data: unknown) => ({ data: typeof data === 'string' ? data : JSON.stringify(data) });
    expect(
      reader.event(
        event({
          choices: [
            { delta: { tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{}' } }] } },
          ],
        }),
      ),
    ).toEqual([]);
    const chunks: ChatChunk[] = reader.event(event('[DONE]'));
    expect(chunks.map((chunk) => chunk.type)).toEqual(['delta', 'done']);
    expect(chunks[0]).toMatchObject({ toolCalls: [{ id: 'c', function: { name: 'f', arguments: {} } }] });
    expect(reader.finished).toBe(true);
    expect(reader.event(event({ choices: [{ delta: { content: 'late' } }] }))).toEqual([]);
  });
});
