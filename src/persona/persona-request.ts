import type { Persona } from '../config/config.js';
import type { ChatMessage, ChatRequest } from '../contracts/chat-request.js';
import { GatewayError } from '../contracts/gateway-error.js';
import { assertModelAllowed } from './model-policy.js';

export interface ChatRequestBody {
  messages: ChatMessage[];
  stream?: boolean;
  model?: string;
  options?: Record<string, unknown>;
  /** A persona by name; `default` when absent. */
  persona?: string;
}

export interface PersonaPolicy {
  persona: Persona & { options?: Record<string, unknown> };
  allowedModels: string[] | '*';
  allowedOptions: string[] | '*';
  acceptSystemMessages: boolean;
}

/**
 * The upstream request for a persona chat: the server's system prompt first, its model and sampling
 * options, and only what the policy lets a client choose.
 */
export function buildPersonaRequest(body: ChatRequestBody, policy: PersonaPolicy): ChatRequest {
  const { persona } = policy;
  const model = body.model ?? persona.model;
  // A persona's own model is the server's choice; only a model the client names must be allowed.
  if (body.model !== undefined) assertModelAllowed(body.model, policy.allowedModels);
  const clientOptions = body.options ?? {};
  if (policy.allowedOptions !== '*') {
    const allowed = policy.allowedOptions;
    const refused = Object.keys(clientOptions).filter((key) => !allowed.includes(key));
    if (refused.length > 0) {
      const permitted = allowed.length > 0 ? allowed.join(', ') : 'none';
      throw badRequest(
        `options ${refused.join(', ')} may not be set by clients; allowed options: ${permitted}`,
      );
    }
  }
  if (!policy.acceptSystemMessages) {
    const index = body.messages.findIndex((message) => message.role === 'system');
    if (index !== -1) {
      throw badRequest(
        `messages[${index}].role: system messages are not accepted; the server sets the system prompt`,
      );
    }
  }
  const messages: ChatMessage[] =
    persona.systemPrompt === ''
      ? body.messages
      : [{ role: 'system', content: persona.systemPrompt }, ...body.messages];
  return {
    model,
    messages,
    options: {
      temperature: persona.temperature,
      num_predict: persona.maxTokens,
      ...persona.options,
      ...clientOptions,
    },
  };
}

function badRequest(message: string): GatewayError {
  return new GatewayError('bad_request', 400, message);
}
