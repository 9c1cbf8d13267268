/** JSON schemas for `POST /v1/chat`: validation, and the OpenAPI document. */
export function chatBodySchema(maxMessages: number) {
  return {
    type: 'object',
    required: ['messages'],
    properties: {
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: maxMessages,
        description: 'The conversation so far, oldest first. The server adds its system prompt in front.',
        items: {
          type: 'object',
          required: ['role', 'content'],
          properties: {
            role: { type: 'string', enum: ['system', 'user', 'assistant', 'tool'] },
            content: { type: 'string' },
            images: { type: 'array', items: { type: 'string' }, description: 'base64-encoded images' },
            tool_calls: { type: 'array', items: { type: 'object' } },
            tool_name: { type: 'string' },
            thinking: { type: 'string' },
          },
          additionalProperties: true,
        },
      },
      stream: { type: 'boolean', default: true, description: 'NDJSON stream (default) or one JSON object' },
      model: { type: 'string', minLength: 1, description: 'Only models in CHATWIRE_ALLOWED_MODELS' },
      persona: {
        type: 'string',
        minLength: 1,
        description: 'A persona from GET /v1/personas; default: default',
      },
      options: {
        type: 'object',
        additionalProperties: true,
        description: 'Ollama options; only keys in CHATWIRE_ALLOWED_OPTIONS',
      },
    },
  } as const;
}

const message = {
  type: 'object',
  properties: {
    role: { type: 'string' },
    content: { type: 'string' },
    thinking: { type: 'string' },
    tool_calls: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
  additionalProperties: true,
} as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' } },
} as const;

export const chatResponseSchema = {
  200: {
    description:
      'With stream:true (default): `application/x-ndjson`, one Ollama /api/chat chunk per line, ending with a ' +
      '`done:true` chunk or, after a failure mid-stream, one `{"error":"…"}` line. With stream:false: one object.',
    type: 'object',
    properties: {
      model: { type: 'string' },
      created_at: { type: 'string' },
      message,
      done: { type: 'boolean' },
      done_reason: { type: 'string' },
      total_duration: { type: 'integer' },
      load_duration: { type: 'integer' },
      prompt_eval_count: { type: 'integer' },
      prompt_eval_duration: { type: 'integer' },
      eval_count: { type: 'integer' },
      eval_duration: { type: 'integer' },
    },
    additionalProperties: true,
  },
  400: { description: 'Invalid body; the message names the field', ...errorSchema },
  404: { description: 'Unknown model upstream', ...errorSchema },
  413: { description: 'Body larger than CHATWIRE_BODY_LIMIT_BYTES', ...errorSchema },
  415: { description: 'Body is not application/json', ...errorSchema },
  502: { description: 'The upstream failed', ...errorSchema },
  503: { description: 'Cannot connect to the upstream, or it is busy', ...errorSchema },
  504: { description: 'No first token within CHATWIRE_FIRST_TOKEN_TIMEOUT_MS', ...errorSchema },
} as const;
