/**
 * Every failure the gateway reports carries its HTTP meaning, so one place (the server's error handler,
 * or the relay once a stream has started) can turn it into a status and a body without guessing.
 */
export type GatewayErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  /** A per-key or gateway limit; Retry-After says when to try again. */
  | 'rate_limited'
  /** The limits cannot be checked (Redis unreachable, CHATWIRE_REDIS_FAILURE=closed). */
  | 'limits_unavailable'
  | 'not_found'
  | 'conflict'
  | 'upstream_unreachable'
  | 'upstream_http_error'
  | 'upstream_protocol_error'
  | 'upstream_stream_error'
  | 'first_token_timeout'
  | 'idle_timeout'
  | 'total_timeout'
  | 'client_closed'
  | 'shutting_down'
  /** Every host that could serve the request is at its stream limit, and the wait for one ran out. */
  | 'overloaded'
  /** A generation ended by a stop request, by CHATWIRE_DETACH_MS, or to free the memory of kept frames. */
  | 'generation_stopped'
  /** The instance producing a generation died; a resume on another one ends with this. */
  | 'generation_lost'
  /** A resume asked for frames no longer kept. */
  | 'generation_evicted'
  | 'internal';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  /** The request field at fault, for envelopes that name it (OpenAI's `param`). */
  readonly param: string | undefined;
  /** Sent as `Retry-After` with the error status: when a busy server expects to have room again. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: GatewayErrorCode,
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown; param?: string; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.param = options?.param;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
