import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../../contracts/gateway-error.js';
import { fromOpenAiRequest, type OpenAiChatBody } from './from-openai-request.js';

const base: OpenAiChatBody = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

function rejection(body: OpenAiChatBody): GatewayError {
  try {
    fromOpenAiRequest(body);
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a rejection');
}

describe('fromOpenAiRequest', () => {
  it('maps sampling options to Ollama names, preferring max_completion_tokens', () => {
    const { request, includeUsage } = fromOpenAiRequest({
      ...base,
      max_tokens: 10,
      max_completion_tokens: 20,
      temperature: 0.2,
      top_p: 0.9,
      stop: 'END',
      seed: 1,
      stream_options: { include_usage: true },
    });
    expect(request.options).toEqual({
      num_predict: 20,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      seed: 1,
    });
    expect(includeUsage).toBe(true);
  });

  it('maps response_format to format', () => {
    expect(fromOpenAiRequest({ ...base, response_format: { type: 'json_object' } }).request.format).toBe(
      'json',
    );
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(
      fromOpenAiRequest({ ...base, response_format: { type: 'json_schema', json_schema: { schema } } })
        .request.format,
    ).toEqual(schema);
    expect(fromOpenAiRequest({ ...base, response_format: { type: 'text' } }).request.format).toBeUndefined();
  });

  it('turns data: URL image parts into base64 images and joins text parts', () => {
    const { request } = fromOpenAiRequest({
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'text', text: 'this?' },
          ],
        },
      ],
    });
    expect(request.messages[0]).toEqual({
      role: 'user',
      content: 'What is\nthis?',
      images: ['iVBORw0KGgo='],
    });
  });

  it('refuses http image URLs, naming the part', () => {
    const error = rejection({
      ...base,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }],
    });
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe('messages.0.content.0.image_url.url');
  });

  it('parses tool-call arguments and names tool results after their call', () => {
    const { request } = fromOpenAiRequest({
      ...base,
      messages: [
        { role: 'developer', content: 'be brief' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'system', content: 'be brief' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call_1', function: { index: 0, name: 'weather', arguments: { city: 'Oslo' } } }],
      },
      { role: 'tool', content: 'sunny', tool_call_id: 'call_1', tool_name: 'weather' },
    ]);
  });

  it('refuses tool-call arguments that are not a JSON object', () => {
    const error = rejection({
      ...base,
      messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: '[1' } }] }],
    });
    expect(error.param).toBe('messages.0.tool_calls.0.function.arguments');
  });

  it('drops the tools for tool_choice none, keeps them otherwise', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    expect(fromOpenAiRequest({ ...base, tools, tool_choice: 'none' }).request.tools).toBeUndefined();
    expect(fromOpenAiRequest({ ...base, tools, tool_choice: 'auto' }).request.tools).toEqual(tools);
  });

  it('maps reasoning_effort to think, and refuses what it cannot serve', () => {
    expect(fromOpenAiRequest({ ...base, reasoning_effort: 'none' }).request.think).toBe(false);
    expect(fromOpenAiRequest({ ...base, reasoning_effort: 'minimal' }).request.think).toBe('low');
    expect(rejection({ ...base, reasoning_effort: 'extreme' }).param).toBe('reasoning_effort');
    expect(rejection({ ...base, n: 2 }).param).toBe('n');
  });
});
