import { Agent, type Dispatcher, request } from 'undici';
import { GatewayError } from '../contracts/gateway-error.js';
import { readBounded } from './read-bounded.js';
import { connectionError, statusForUpstreamStatus, upstreamErrorMessage } from './upstream-errors.js';

export interface UpstreamHttpOptions {
  /** How messages name the upstream: "Ollama", "OpenAI-compatible upstream". */
  label: string;
  baseUrl: string;
  connections: number;
  connectTimeoutMs: number;
  /** Sent on every request (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** Replaces the keep-alive pool; tests use it to inject DNS and connect failures. */
  dispatcher?: Dispatcher;
}

const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * HTTP to one upstream over one keep-alive pool, whatever its protocol. undici's own header and body timeouts
 * are off: a cold model load legitimately holds a stream back for minutes, so the relay enforces first-token,
 * idle and total deadlines itself and aborts through the signal.
 */
export class UpstreamHttp {
  readonly label: string;
  readonly baseUrl: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly headers: Record<string, string>;

  constructor(options: UpstreamHttpOptions) {
    this.label = options.label;
    this.baseUrl = options.baseUrl;
    this.headers = options.headers ?? {};
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.connections,
        headersTimeout: 0,
        bodyTimeout: 0,
        keepAliveTimeout: 30_000,
        connect: { timeout: options.connectTimeoutMs },
      });
  }

  /** Any answer, whatever its status; failing to get one is a GatewayError (503 unreachable, 502 hung up). */
  async send(
    path: string,
    options: { method: 'GET' | 'POST'; body?: string; signal: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    const headers =
      options.body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' };
    try {
      return await request(`${this.baseUrl}${path}`, {
        dispatcher: this.dispatcher,
        method: options.method,
        body: options.body,
        signal: options.signal,
        headers,
      });
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      throw connectionError(this.label, this.baseUrl, error);
    }
  }

  /** A streaming POST that must be accepted with 200; any other status is the upstream's error, mapped. */
  async openStream(
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData['body']> {
    const response = await this.send(path, { method: 'POST', body: JSON.stringify(body), signal });
    if (response.statusCode !== 200) throw await this.httpError(response);
    return response.body;
  }

  async getJson(path: string, signal: AbortSignal): Promise<unknown> {
    const response = await this.send(path, { method: 'GET', signal });
    if (response.statusCode !== 200) throw await this.httpError(response);
    return this.parseJson(path, await readBounded(response.body, ERROR_BODY_LIMIT * 16));
  }

  /** The upstream's error status and message as the client should see them (its status family kept). */
  async errorMessage(response: Dispatcher.ResponseData): Promise<{ status: number; message: string }> {
    const text = await readBounded(response.body, ERROR_BODY_LIMIT);
    return {
      status: statusForUpstreamStatus(response.statusCode),
      message: upstreamErrorMessage(this.label, response.statusCode, text),
    };
  }

  parseJson(path: string, text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new GatewayError(
        'upstream_protocol_error',
        502,
        `${this.label} answered ${path} with a body that is not JSON`,
      );
    }
  }

  /**
   * Called once the gateway's streams have ended: whatever is still in flight (a start-up probe, a metadata
   * call for a client that has gone) is abandoned rather than waited for, so shutdown cannot hang on it.
   */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.destroy();
  }

  private async httpError(response: Dispatcher.ResponseData): Promise<GatewayError> {
    const { status, message } = await this.errorMessage(response);
    return new GatewayError('upstream_http_error', status, message);
  }
}
