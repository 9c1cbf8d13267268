import type { FastifyError, FastifyInstance } from 'fastify';
import { isGatewayError } from '../contracts/gateway-error.js';

/** The one place where an error becomes an HTTP status and an Ollama-style `{"error":"…"}` body. */
export function installErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isGatewayError(error) && error.code === 'client_closed') {
      // Nobody is left to read an answer; the request log records 499.
      reply.hijack();
      reply.raw.destroy();
      return;
    }
    const { status, message } = describe(error, bodyLimit);
    if (status >= 500 && !isGatewayError(error)) request.log.error({ err: error }, 'unexpected error');
    request.relayStats.error = message;
    reply.code(status).type('application/json; charset=utf-8').send({ error: message });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0]}` });
  });
}

function describe(error: FastifyError, bodyLimit: number): { status: number; message: string } {
  if (isGatewayError(error)) return { status: error.statusCode, message: error.message };
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
