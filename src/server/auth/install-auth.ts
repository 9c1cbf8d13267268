import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../contracts/gateway-error.js';
import type { ApiKeyRecord } from '../../keys/key-store.js';
import type { KeyDirectory } from './key-directory.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's key when auth is on; undefined when it is off. */
    apiKey: ApiKeyRecord | undefined;
  }
}

/** Everything under `/v1` and `/api` needs a key while auth is on; `/health`, `/ready` and the rest do not. */
const PROTECTED = /^\/(v1|api)(\/|$|\?)/;
const METRICS = /^\/metrics(\/|$|\?)/;

/**
 * Checks `Authorization: Bearer <key>` before anything else is done with a request (its body is not even
 * read). A missing or wrong key is a 401 in the route's own error envelope, from the one error handler.
 */
export function installAuth(
  app: FastifyInstance,
  keys: KeyDirectory,
  options: { metricsRequireKey: boolean } = { metricsRequireKey: false },
): void {
  app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (request, reply) => {
    // The route matched, not the URL as sent: the router decodes `/%761/chat` to `/v1/chat`, a regex on
    // the raw URL would not. Unmatched URLs are checked as sent, so a 404 does not tell what exists.
    const path = request.routeOptions.url ?? request.url;
    const metrics = options.metricsRequireKey && METRICS.test(path);
    if (!metrics && (!keys.required || !PROTECTED.test(path))) return;
    const key = keys.authenticate(request.headers.authorization);
    if (key === undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new GatewayError(
        'unauthorized',
        401,
        request.headers.authorization === undefined
          ? 'an API key is required: send Authorization: Bearer <key> (chatwire keys create makes one)'
          : 'the API key is not valid (unknown or revoked)',
      );
    }
    if (metrics && !key.admin) {
      throw new GatewayError(
        'forbidden',
        403,
        `/metrics needs an admin key (CHATWIRE_METRICS_REQUIRE_KEY); '${key.name}' is not one`,
      );
    }
    request.apiKey = key;
  });
}

/** Whether the caller may see a conversation: its own, or any for an admin key, or all with auth off. */
export function mayAccess(
  key: ApiKeyRecord | undefined,
  owner: string | null,
  authRequired: boolean,
): boolean {
  if (!authRequired) return true;
  if (key === undefined) return false;
  return key.admin || owner === key.id;
}
