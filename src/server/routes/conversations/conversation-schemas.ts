import { errorSchema } from '../chat-schema.js';

const conversation = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    persona: { type: 'string' },
    title: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

const message = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    seq: { type: 'integer' },
    role: { type: 'string' },
    content: { type: 'string' },
    status: { type: 'string', enum: ['complete', 'streaming', 'interrupted', 'failed'] },
    error: { type: ['string', 'null'] },
    prompt_tokens: { type: ['integer', 'null'] },
    completion_tokens: { type: ['integer', 'null'] },
    ttft_ms: { type: ['number', 'null'] },
    duration_ms: { type: ['number', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;

export const createBody = {
  type: 'object',
  properties: {
    persona: { type: 'string', minLength: 1 },
    title: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

export const patchBody = {
  type: 'object',
  required: ['title'],
  properties: { title: { type: 'string', minLength: 1, maxLength: 200 } },
  additionalProperties: false,
} as const;

export const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$', description: '1 to 100, default 20' },
    cursor: { type: 'string', description: 'next_cursor of the previous page' },
  },
} as const;

const turnProperties = {
  stream: { type: 'boolean', default: true },
  model: {
    type: 'string',
    minLength: 1,
    description: "Instead of the persona's model, for this turn; only models in CHATWIRE_ALLOWED_MODELS",
  },
} as const;

export const messageBody = {
  type: 'object',
  required: ['content'],
  properties: { content: { type: 'string', minLength: 1 }, ...turnProperties },
  additionalProperties: false,
} as const;

export const regenerateBody = {
  type: 'object',
  properties: turnProperties,
  additionalProperties: false,
} as const;

export const conversationResponses = {
  200: conversation,
  201: conversation,
  400: errorSchema,
  404: errorSchema,
};
export const withMessagesResponse = {
  200: {
    ...conversation,
    properties: { ...conversation.properties, messages: { type: 'array', items: message } },
  },
  404: errorSchema,
};
export const listResponse = {
  200: {
    type: 'object',
    properties: {
      conversations: { type: 'array', items: conversation },
      next_cursor: { type: ['string', 'null'] },
    },
  },
  400: errorSchema,
};
