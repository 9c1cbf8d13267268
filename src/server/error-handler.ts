import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { isGatewayError } from '../contracts/gateway-error.js';
import { openAiErrorBody, shouldRetry } from '../protocol/openai/openai-error.js';
import { ConversationNotFoundError, InvalidCursorError } from '../storage/store-errors.js';

/**
 * The one place where an error before the first byte becomes an HTTP status and a body, in the envelope the
 * route's clients speak: Ollama's `{"error":"…"}` or OpenAI's `{"error":{"message","type",…}}`.
 */
export function installErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isGatewayError(error) && error.code === 'client_closed') {
      // Nobody is left to read an answer; the request log records 499.
      reply.hijack();
      reply.raw.destroy();
      return;
    }
    const described = describe(error, bodyLimit);
    const { message } = described;
    // OpenAI's clients know a full server as 429 (rate_limit_error), which they retry after Retry-After.
    const status =
      isGatewayError(error) && error.code === 'overloaded' && errorStyleOf(request) === 'openai'
        ? 429
        : described.status;
    if (status >= 500 && !isGatewayError(error)) request.log.error({ err: error }, 'unexpected error');
    request.relayStats.error = message;
    if (isGatewayError(error) && error.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(error.retryAfterSeconds));
    sendError(request, reply, status, message, { param: fieldOf(error) });
  });

  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, 404, `no route for ${request.method} ${request.url.split('?')[0]}`);
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error envelope this route's clients understand; Ollama's `{"error":"…"}` unless said otherwise. */
    errorStyle?: 'ollama' | 'openai';
  }
}

function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  message: string,
  details: { param?: string | null } = {},
): void {
  reply.code(status).type('application/json; charset=utf-8');
  if (errorStyleOf(request) === 'openai') {
    if (!shouldRetry(status)) reply.header('x-should-retry', 'false');
    reply.send(openAiErrorBody(status, message, details));
  } else {
    reply.send({ error: message });
  }
}

function errorStyleOf(request: FastifyRequest): 'ollama' | 'openai' {
  const style = request.routeOptions.config?.errorStyle;
  if (style) return style;
  return styleOfUrl(request.url);
}

/** Unknown routes under OpenAI's prefix are most likely OpenAI clients. */
function styleOfUrl(url: string): 'ollama' | 'openai' {
  return /^\/v1\/(chat\/completions|models|completions|embeddings)/.test(url) ? 'openai' : 'ollama';
}

/**
 * What a connection gets when Node gives up on it before a request could be answered (Fastify's
 * clientErrorHandler): not received within the headers or request bound, headers too large, not HTTP. There
 * is no reply object yet, so the answer is written to the socket, in the envelope of the route the request
 * was for when its headers arrived, and the connection is closed.
 */
export function clientErrorHandler(connections: Config['connections']) {
  return (error: ConnectionError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // A response already on the wire would be corrupted by a second status line.
    const inFlight = (socket as { _httpMessage?: { headersSent: boolean; req?: IncomingMessage } })
      ._httpMessage;
    if (socket.writable && inFlight?.headersSent !== true) {
      const { status, message } = describeClientError(error, connections);
      const body = JSON.stringify(
        styleOfUrl(inFlight?.req?.url ?? '') === 'openai'
          ? openAiErrorBody(status, message)
          : { error: message },
      );
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

function describeClientError(
  error: ConnectionError,
  { headersMs, requestMs }: Config['connections'],
): { status: number; message: string } {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        message: `request not received in time: its headers must arrive within ${headersMs} ms and all of it within ${requestMs} ms`,
      };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request headers are too large' };
    default:
      return { status: 400, message: 'malformed HTTP request' };
  }
}

/** The body field a validation error is about, as OpenAI's `param`. */
function fieldOf(error: FastifyError): string | null {
  if (isGatewayError(error)) return error.param ?? null;
  const first = error.validation?.[0];
  if (!first) return null;
  const missing = (first.params as { missingProperty?: string }).missingProperty;
  const path = first.instancePath.split('/').filter((part) => part !== '');
  if (missing) path.push(missing);
  return path.length > 0 ? path.join('.') : null;
}

function describe(error: FastifyError, bodyLimit: number): { status: number; message: string } {
  if (isGatewayError(error)) return { status: error.statusCode, message: error.message };
  // The store's own errors: a conversation deleted while a turn began, a cursor from elsewhere.
  if (error instanceof ConversationNotFoundError) {
    return { status: 404, message: `conversation '${error.conversationId}' not found` };
  }
  if (error instanceof InvalidCursorError) return { status: 400, message: error.message };
  if (error.validation) return { status: 400, message: error.message };
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'Content-Type must be application/json' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: `request body is larger than the ${bodyLimit}-byte limit` };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'request body is empty; send a JSON object' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: `request body is not valid JSON: ${error.message}` };
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return { status: 400, message: `request body is not valid JSON: ${error.message}` };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, message: error.message };
  return { status: 500, message: 'internal error; see the gateway log' };
}
