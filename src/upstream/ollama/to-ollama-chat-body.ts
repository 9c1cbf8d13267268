import type { ChatRequest } from '../../contracts/chat-request.js';

/**
 * The native `/api/chat` body. Always `stream: true`: a streamed reply can be timed chunk by chunk and
 * aborted, a buffered one cannot, so non-streaming clients are served by collecting the stream.
 */
export function toOllamaChatBody(request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...request.passthrough,
    model: request.model,
    messages: request.messages,
    stream: true,
  };
  if (Object.keys(request.options).length > 0) body.options = request.options;
  if (request.format !== undefined) body.format = request.format;
  if (request.tools !== undefined) body.tools = request.tools;
  if (request.think !== undefined) body.think = request.think;
  if (request.keepAlive !== undefined) body.keep_alive = request.keepAlive;
  return body;
}
