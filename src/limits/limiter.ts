import { GatewayError } from '../contracts/gateway-error.js';
import type { KeyLimits } from '../keys/key-store.js';

/** Who asks, and for what: a generation (a stream upstream) or any other request. */
export interface Subject {
  /** The caller's key, when auth is on. */
  key?: { id: string; name: string; limits: KeyLimits } | undefined;
  generates: boolean;
}

/** A request let in; `end` once it is over, with the completion tokens its reply cost. */
export interface Admission {
  end(completionTokens: number): void;
}

/**
 * Per-key requests per minute, streams at once and completion tokens per UTC day, and the gateway's own
 * stream limit. Checked before anything goes upstream; a stream that runs is never cut, and the token
 * budget is charged when a reply ends (so one reply may overshoot it).
 */
export interface Limiter {
  /** Lets the request in, or throws a 429 GatewayError with Retry-After saying which limit it hit. */
  admit(subject: Subject): Promise<Admission>;
  close(): Promise<void>;
}

export const NO_ADMISSION: Admission = { end() {} };

/** What a store answers when a limit stops a request. */
export type Refusal = 'rpm' | 'streams' | 'global' | 'tokens';

export function refusalError(
  refusal: Refusal,
  subject: Subject,
  globalMax: number,
  nowMs: number,
): GatewayError {
  const name = subject.key?.name ?? '';
  const limits = subject.key?.limits;
  switch (refusal) {
    case 'rpm': {
      const seconds = Math.max(1, Math.ceil((60_000 - (nowMs % 60_000)) / 1000));
      return new LimitError(
        refusal,
        `key '${name}' is over its limit of ${limits?.rpm} requests per minute`,
        seconds,
      );
    }
    case 'streams':
      return new LimitError(
        refusal,
        `key '${name}' already runs its limit of ${limits?.streams} streams at once`,
        1,
      );
    case 'global':
      return new LimitError(
        refusal,
        `chatwire already runs its limit of ${globalMax} streams at once (CHATWIRE_MAX_STREAMS)`,
        1,
      );
    case 'tokens': {
      const seconds = Math.max(1, Math.ceil((86_400_000 - (nowMs % 86_400_000)) / 1000));
      return new LimitError(
        refusal,
        `key '${name}' has used its ${limits?.tokensPerDay} completion tokens for today (UTC)`,
        seconds,
      );
    }
  }
}

/** A 429 that says which limit it was, for the metrics. */
export class LimitError extends GatewayError {
  constructor(
    readonly kind: Refusal,
    message: string,
    retryAfterSeconds: number,
  ) {
    super('rate_limited', 429, `${message}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}

/** The UTC day a time falls in, as the token budget counts days. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

export function minuteOf(nowMs: number): number {
  return Math.floor(nowMs / 60_000);
}
