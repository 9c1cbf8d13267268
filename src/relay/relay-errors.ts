import { GatewayError } from '../contracts/gateway-error.js';

/** The reasons the gateway itself cuts a stream short; each is the abort reason of the upstream request. */
export const relayErrors = {
  firstTokenTimeout: (label: string, baseUrl: string, ms: number) =>
    new GatewayError(
      'first_token_timeout',
      504,
      `timed out after ${ms} ms waiting for the first token from ${label} at ${baseUrl}`,
    ),
  idleTimeout: (label: string, ms: number) =>
    new GatewayError(
      'idle_timeout',
      504,
      `${label} stalled: no data for ${ms} ms (idle timeout), request aborted`,
    ),
  totalTimeout: (ms: number) =>
    new GatewayError('total_timeout', 504, `total timeout of ${ms} ms exceeded, request aborted`),
  clientClosed: () => new GatewayError('client_closed', 499, 'client closed the connection'),
  shuttingDown: () => new GatewayError('shutting_down', 503, 'chatwire is shutting down'),
};
