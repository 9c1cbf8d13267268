import { errorSchema } from '../chat-schema.js';

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'user', 'assistant', 'tool'] },
    content: { type: 'string' },
    images: { type: 'array', items: { type: 'string' } },
    tool_calls: { type: 'array', items: { type: 'object' } },
    tool_name: { type: 'string' },
    thinking: { type: 'string' },
  },
  additionalProperties: true,
} as const;

/** Fields every generation request shares; unknown fields are allowed and relayed to Ollama upstreams. */
const common = {
  model: { type: 'string', minLength: 1 },
  stream: { type: ['boolean', 'null'], description: 'absent or null: stream (Ollama default)' },
  options: { type: 'object', additionalProperties: true },
  format: { description: '"json" or a JSON schema' },
  think: { type: ['boolean', 'string'] },
  keep_alive: { type: ['number', 'string'] },
} as const;

export function ollamaChatBodySchema(maxMessages: number) {
  return {
    type: 'object',
    required: ['model'],
    properties: {
      ...common,
      messages: { type: 'array', maxItems: maxMessages, items: message },
      tools: { type: 'array', items: { type: 'object' } },
    },
    additionalProperties: true,
  } as const;
}

export const ollamaGenerateBodySchema = {
  type: 'object',
  required: ['model'],
  properties: {
    ...common,
    prompt: { type: 'string' },
    system: { type: 'string' },
    images: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: true,
} as const;

export const ollamaStreamResponse = {
  200: {
    description:
      'Streaming (default): application/x-ndjson, one Ollama chunk per line ending with done:true, or one ' +
      '{"error":"…"} line after a mid-stream failure. stream:false: one object.',
    type: 'object',
    additionalProperties: true,
  },
  400: errorSchema,
  404: errorSchema,
  502: errorSchema,
  503: errorSchema,
  504: errorSchema,
} as const;
