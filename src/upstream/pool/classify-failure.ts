import { isGatewayError } from '../../contracts/gateway-error.js';

export interface FailureKind {
  /** Another host may well succeed: the host, not the request, failed. */
  retry: boolean;
  /** Counts toward ejecting the host (connect failures, 5xx), as Envoy's consecutive-5xx does. */
  hostFault: boolean;
  /** The host does not have the model after all: its catalogue is out of date. */
  modelMissing: boolean;
}

/**
 * What a failure before the first token says about the host. "Server busy" (Ollama's 503 when its queue is
 * full) is retried elsewhere but is no fault: the host is loaded, not broken. Other 4xx are the request's
 * own fault and would fail anywhere.
 */
export function classifyFailure(error: unknown): FailureKind {
  if (!isGatewayError(error)) return { retry: false, hostFault: false, modelMissing: false };
  switch (error.code) {
    case 'upstream_unreachable':
    case 'upstream_protocol_error':
    case 'upstream_stream_error':
      return { retry: true, hostFault: true, modelMissing: false };
    case 'upstream_http_error': {
      if (error.statusCode === 404) return { retry: true, hostFault: false, modelMissing: true };
      if (error.statusCode === 503 && /server busy/i.test(error.message)) {
        return { retry: true, hostFault: false, modelMissing: false };
      }
      const fault = error.statusCode >= 500;
      return { retry: fault, hostFault: fault, modelMissing: false };
    }
    default:
      return { retry: false, hostFault: false, modelMissing: false };
  }
}
