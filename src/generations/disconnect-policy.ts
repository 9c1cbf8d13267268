import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../contracts/gateway-error.js';
import type { DisconnectPolicy } from './generation-types.js';

export const DISCONNECT_HEADER = 'chatwire-on-disconnect';

/** The request's `chatwire-on-disconnect` header, or the route's default; anything else is a 400 naming it. */
export function disconnectPolicy(headers: IncomingHttpHeaders, fallback: DisconnectPolicy): DisconnectPolicy {
  const value = headers[DISCONNECT_HEADER];
  if (value === undefined) return fallback;
  const policy = (Array.isArray(value) ? value.join(',') : value).trim().toLowerCase();
  if (policy === 'abort' || policy === 'detach') return policy;
  throw new GatewayError(
    'bad_request',
    400,
    `header ${DISCONNECT_HEADER} must be 'abort' or 'detach', not ${JSON.stringify(value)}`,
    { param: DISCONNECT_HEADER },
  );
}
