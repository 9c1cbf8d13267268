import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../contracts/chat-request.js';
import { imageMimeType, toOpenAiChatBody } from './to-openai-chat-body.js';

const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'hi' }],
  options: {},
  ...overrides,
});

const base64Of = (bytes: number[] | string) =>
  Buffer.concat([Buffer.from(bytes as never), Buffer.alloc(16)]).toString('base64');
const PNG = base64Of([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = base64Of([0xff, 0xd8, 0xff, 0xe0]);
const GIF = base64Of('GIF89a');
const WEBP = base64Of('RIFF\x10\x00\x00\x00WEBPVP8 ');

describe('toOpenAiChatBody', () => {
  it('always streams with usage, whatever the client asked', () => {
    expect(toOpenAiChatBody(request())).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('maps Ollama options to their OpenAI names', () => {
    const body = toOpenAiChatBody(
      request({
        options: {
          temperature: 0.3,
          top_p: 0.9,
          num_predict: 128,
          stop: '\n\n',
          seed: 42,
          frequency_penalty: 0.1,
          presence_penalty: 0.2,
        },
      }),
    );
    expect(body).toMatchObject({
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 128,
      stop: ['\n\n'],
      seed: 42,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
    });
    expect(body).not.toHaveProperty('num_predict');
    expect(body).not.toHaveProperty('options');
  });

  it('keeps a stop list as a list', () => {
    expect(toOpenAiChatBody(request({ options: { stop: ['a', 'b'] } })).stop).toEqual(['a', 'b']);
  });

  it.each([-1, -2])('leaves max_tokens out for num_predict %i (no limit)', (numPredict) => {
    expect(toOpenAiChatBody(request({ options: { num_predict: numPredict } }))).not.toHaveProperty(
      'max_tokens',
    );
  });

  it('sends top_k, min_p and repeat_penalty as the extra fields llama.cpp and vLLM read', () => {
    const body = toOpenAiChatBody(request({ options: { top_k: 40, min_p: 0.05, repeat_penalty: 1.1 } }));
    expect(body).toMatchObject({ top_k: 40, min_p: 0.05, repeat_penalty: 1.1, repetition_penalty: 1.1 });
  });

  it('does not send Ollama-only options, keep_alive, think or passthrough fields', () => {
    const body = toOpenAiChatBody(
      request({
        options: { num_ctx: 8192, mirostat: 1 },
        keepAlive: '5m',
        think: true,
        passthrough: { raw: true, template: 'x' },
      }),
    );
    expect(Object.keys(body).sort()).toEqual(['messages', 'model', 'stream', 'stream_options']);
  });

  it('maps format json and a schema to response_format', () => {
    expect(toOpenAiChatBody(request({ format: 'json' })).response_format).toEqual({ type: 'json_object' });
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    expect(toOpenAiChatBody(request({ format: schema })).response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'response', schema, strict: true },
    });
  });

  it('passes tools through', () => {
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
      },
    ];
    expect(toOpenAiChatBody(request({ tools })).tools).toEqual(tools);
  });

  it('turns images into content parts with a data URL of the sniffed type', () => {
    const body = toOpenAiChatBody(
      request({ messages: [{ role: 'user', content: 'what is this?', images: [PNG, JPEG] }] }),
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG}` } },
        ],
      },
    ]);
  });

  it('sends an image without text as an image part alone', () => {
    const body = toOpenAiChatBody(request({ messages: [{ role: 'user', content: '', images: [GIF] }] }));
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/gif;base64,${GIF}` } }] },
    ]);
  });

  it.each([
    [PNG, 'image/png'],
    [JPEG, 'image/jpeg'],
    [GIF, 'image/gif'],
    [WEBP, 'image/webp'],
    [base64Of('BM not an image we know'), 'image/png'],
    ['', 'image/png'],
  ])('sniffs the image type from the base64 magic bytes (%#)', (base64, type) => {
    expect(imageMimeType(base64)).toBe(type);
  });

  it('sends assistant tool calls with JSON-text arguments, and tool results with their call id', () => {
    const body = toOpenAiChatBody(
      request({
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [{ id: 'call_1', function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
          },
          { role: 'tool', content: '18 °C', tool_name: 'get_weather', tool_call_id: 'call_1' },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', content: '18 °C', tool_call_id: 'call_1' },
    ]);
  });

  it('gives id-less tool calls ids and pairs the tool results with them by name, else in order', () => {
    const body = toOpenAiChatBody(
      request({
        messages: [
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
              { function: { name: 'get_time', arguments: {} } },
              { function: { name: 'get_weather', arguments: { city: 'Rome' } } },
            ],
          },
          { role: 'tool', content: '12:00', tool_name: 'get_time' },
          { role: 'tool', content: '18 °C', tool_name: 'get_weather' },
          { role: 'tool', content: '25 °C' },
        ],
      }),
    );
    const messages = body.messages as Array<Record<string, unknown>>;
    const calls = messages[0]?.tool_calls as Array<{ id: string; function: { arguments: string } }>;
    const ids = calls.map((call) => call.id);
    expect(ids.every((id) => /^call_[0-9a-f]{24}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(3);
    expect(calls[1]?.function.arguments).toBe('{}');
    expect(messages.slice(1).map((message) => message.tool_call_id)).toEqual([ids[1], ids[0], ids[2]]);
    expect(messages.slice(1).every((message) => !('tool_name' in message) && !('name' in message))).toBe(
      true,
    );
  });

  it('keeps arguments that are already JSON text', () => {
    const body = toOpenAiChatBody(
      request({
        messages: [
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              {
                id: 'c',
                function: { name: 'f', arguments: '{"a":1}' as unknown as Record<string, unknown> },
              },
            ],
          },
        ],
      }),
    );
    const [message] = body.messages as Array<{ tool_calls: Array<{ function: { arguments: string } }> }>;
    expect(message?.tool_calls[0]?.function.arguments).toBe('{"a":1}');
  });

  it('drops fields OpenAI servers do not take: thinking, unknown message fields', () => {
    const body = toOpenAiChatBody(
      request({
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'assistant', content: 'ok', thinking: 'hmm', extra: 1 },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'assistant', content: 'ok' },
    ]);
  });
});
