const nullable = (type: string) => ({ type: [type, 'null'] }) as const;

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
  additionalProperties: true,
} as const;

export function chatCompletionBodySchema(maxMessages: number) {
  return {
    type: 'object',
    required: ['model', 'messages'],
    properties: {
      model: { type: 'string', minLength: 1 },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: maxMessages,
        items: {
          type: 'object',
          required: ['role'],
          properties: {
            role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
            content: { anyOf: [{ type: 'string' }, { type: 'array', items: contentPart }, { type: 'null' }] },
            tool_calls: {
              type: 'array',
              items: {
                type: 'object',
                required: ['function'],
                properties: {
                  id: { type: 'string' },
                  function: {
                    type: 'object',
                    required: ['name'],
                    properties: { name: { type: 'string' }, arguments: { type: 'string' } },
                  },
                },
              },
            },
            tool_call_id: { type: 'string' },
          },
          additionalProperties: true,
        },
      },
      stream: nullable('boolean'),
      stream_options: { type: ['object', 'null'], properties: { include_usage: { type: 'boolean' } } },
      max_tokens: nullable('integer'),
      max_completion_tokens: nullable('integer'),
      temperature: nullable('number'),
      top_p: nullable('number'),
      stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'null' }] },
      seed: nullable('integer'),
      frequency_penalty: nullable('number'),
      presence_penalty: nullable('number'),
      n: nullable('integer'),
      response_format: {
        type: ['object', 'null'],
        required: ['type'],
        properties: { type: { type: 'string' }, json_schema: { type: 'object' } },
      },
      tools: { type: ['array', 'null'], items: { type: 'object' } },
      reasoning_effort: nullable('string'),
    },
    additionalProperties: true,
  } as const;
}

const openAiError = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        message: { type: 'string' },
        type: { type: 'string' },
        param: { type: ['string', 'null'] },
        code: { type: ['string', 'null'] },
      },
    },
  },
} as const;

export const chatCompletionResponses = {
  200: {
    description:
      'stream:true: text/event-stream of chat.completion.chunk events ending with `data: [DONE]`, or with one ' +
      '`data: {"error":{…}}` event after a failure. Otherwise one chat.completion object.',
    type: 'object',
    additionalProperties: true,
  },
  400: openAiError,
  404: openAiError,
  502: openAiError,
  503: openAiError,
  504: openAiError,
} as const;

export const modelListResponse = {
  200: {
    type: 'object',
    properties: {
      object: { type: 'string' },
      data: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            object: { type: 'string' },
            created: { type: 'integer' },
            owned_by: { type: 'string' },
          },
        },
      },
    },
  },
} as const;
