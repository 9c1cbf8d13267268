import { GatewayError } from '../contracts/gateway-error.js';

/** Why the connection attempt failed, in the words of the error closest to the socket. */
export function describeNetworkError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Happy-eyeballs attempts report one error per address; the first says what went wrong.
    return describeNetworkError(error.errors[0]);
  }
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (error.message === 'fetch failed' && cause) return describeNetworkError(cause);
    return error.message || (error as { code?: string }).code || error.name;
  }
  return String(error);
}

/** A failure before any response: the upstream could not be reached (503), or hung up before answering (502). */
export function connectionError(label: string, baseUrl: string, error: unknown): GatewayError {
  const code = (error as { code?: string })?.code;
  if (code === 'UND_ERR_SOCKET') {
    return new GatewayError(
      'upstream_protocol_error',
      502,
      `${label} at ${baseUrl} closed the connection before answering: ${describeNetworkError(error)}`,
      { cause: error },
    );
  }
  return new GatewayError(
    'upstream_unreachable',
    503,
    `cannot connect to ${label} at ${baseUrl}: ${describeNetworkError(error)}`,
    { cause: error },
  );
}

/**
 * Upstream statuses keep their family: 404 stays 404 (unknown model), 503 stays 503 (server busy), other
 * 4xx pass through, and any other 5xx is the gateway's upstream failing: 502.
 */
export function statusForUpstreamStatus(status: number): number {
  if (status >= 400 && status < 500) return status;
  if (status === 503) return 503;
  return 502;
}

/** Old Ollama (≤ 0.12.5) reports pre-stream errors as a 200 stream with one error line: recover the status. */
export function statusForUpstreamMessage(message: string): number {
  if (/model ['"].*['"] not found/.test(message)) return 404;
  if (/^server busy/.test(message)) return 503;
  return 502;
}

/** The message in an upstream error body: Ollama's `{"error":"…"}`, OpenAI's `{"error":{"message"}}`, or text. */
export function upstreamErrorMessage(label: string, status: number, body: string): string {
  const text = body.trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string' && parsed.error !== '') return parsed.error;
    const nested = (parsed.error as { message?: unknown } | undefined)?.message;
    if (typeof nested === 'string' && nested !== '') return nested;
  } catch {
    // not JSON: fall through to the text itself
  }
  if (text !== '') return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  return `${label} answered HTTP ${status} with an empty body`;
}

/** Why reading a stream's body failed: the relay's own abort reason, or a dropped upstream connection. */
export function midStreamError(label: string, error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  return new GatewayError(
    'upstream_stream_error',
    502,
    `connection to ${label} lost mid-stream: ${describeNetworkError(error)}`,
    { cause: error },
  );
}
