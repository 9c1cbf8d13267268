// The outcome table: what README's "What each error means" and the pool promise for each scenario, applied
// to what one client saw and what the upstream saw of the same stream.
import type { Seen } from './client.js';
import { RETRIED, type StreamPlan } from './plan.js';

/** One attempt of a stream as a simulator saw it, once it was done with it. */
export interface AttemptEnd {
  host: string;
  aborted: boolean;
  bytesSent: number;
  /** Date.now() when the host was done with it. */
  at: number;
}

export interface Judged {
  /** How it ended, for the summary's counts. */
  outcome: string;
  /** Empty when the stream got what was promised. */
  violations: string[];
}

interface Body {
  contents: string[];
  terminal: 'done' | 'error' | undefined;
  errors: string[];
  problems: string[];
}

/** Splits NDJSON lines into the content relayed and how the stream ended; anything malformed is a problem. */
export function readBody(lines: Array<Record<string, unknown>>, partial: string): Body {
  const body: Body = { contents: [], terminal: undefined, errors: [], problems: [] };
  for (const line of lines) {
    if (body.terminal) body.problems.push(`a line after the stream's ${body.terminal} line`);
    if ('error' in line) {
      body.errors.push(String(line.error));
      body.terminal = 'error';
    } else if (line.done === true) {
      body.terminal = 'done';
    } else if ('unparsable' in line) {
      body.problems.push(`a line that is not JSON: ${String(line.unparsable).slice(0, 60)}`);
    } else {
      const message = line.message as { content?: unknown } | undefined;
      body.contents.push(String(message?.content ?? ''));
    }
  }
  if (partial) body.problems.push('a torn last line');
  return body;
}

function sameTokens(got: string[], want: string[]): boolean {
  return got.length === want.length && got.every((token, i) => token === want[i]);
}

/** Tokens must always be a prefix of the plan: nothing lost in the middle, repeated or reordered. */
function prefixProblem(got: string[], plan: StreamPlan): string | undefined {
  if (got.length > plan.tokens.length)
    return `${got.length} tokens, more than the ${plan.tokens.length} sent`;
  const at = got.findIndex((token, i) => token !== plan.tokens[i]);
  return at < 0 ? undefined : `token ${at} is not the one sent (lost, repeated or reordered)`;
}

const ERROR_AFTER_FIRST_TOKEN: Partial<
  Record<StreamPlan['scenario'], (plan: StreamPlan) => RegExp | string>
> = {
  'stall-after-first-token': () => /stalled: no data for \d+ ms \(idle timeout\), request aborted$/,
  'death-mid-stream': () => /lost mid-stream/,
  'in-band-error': (plan) => plan.message,
  'end-without-done': () => /ended the stream without its final done message$/,
};

/** How long after a client leaves its upstream may still finish normally rather than be aborted. */
const ABORT_GRACE_MS = 2000;

function matches(message: string, want: RegExp | string): boolean {
  return typeof want === 'string' ? message === want : want.test(message);
}

/**
 * `restarted`: a host this stream used was closed while it ran. Then the one promise left is the general one:
 * a stream ends with its done line or exactly one error frame, never silently, with no token lost or repeated.
 */
export function judge(
  plan: StreamPlan,
  seen: Seen,
  attempts: AttemptEnd[],
  restarted: boolean,
  /** Some host was ejected while it ran: a retry may have had nowhere to go. */
  degraded = false,
): Judged {
  const violations: string[] = [];
  const fail = (why: string) => violations.push(`stream ${plan.id} (${plan.scenario}): ${why}`);
  if (seen.transportError && !seen.dropped) fail(`transport error: ${seen.transportError}`);

  const lines = [...seen.lines, ...(seen.resumed?.lines ?? [])];
  const body = readBody(lines, seen.resumed ? seen.resumed.partial : seen.dropped ? '' : seen.partial);
  for (const problem of body.problems) fail(problem);
  const prefix = prefixProblem(body.contents, plan);
  if (prefix) fail(prefix);
  if (body.errors.length > 1) fail(`${body.errors.length} error frames, not one`);
  const complete = body.terminal === 'done' && sameTokens(body.contents, plan.tokens);
  const last = attempts[attempts.length - 1];
  const retried = attempts.length > 1;

  if (restarted) {
    if (seen.status === 200 && !seen.dropped && !body.terminal) fail('ended without a done or error line');
    if (seen.status !== 200 && seen.status !== 504) fail(`status ${seen.status} across a host restart`);
    const outcome = complete
      ? 'complete (host restarted)'
      : body.terminal === 'error'
        ? 'error frame (host restarted)'
        : `${seen.status} (host restarted)`;
    return {
      outcome: seen.dropped && !body.terminal ? 'dropped by client (host restarted)' : outcome,
      violations,
    };
  }

  switch (plan.scenario) {
    case 'complete':
    case 'slow-client':
    case 'hangup-before-first-token':
    case 'http-500-before-first-token': {
      const ownError = seen.status === 502 && attempts.length === 1 && RETRIED.has(plan.scenario);
      if (ownError && degraded) return { outcome: '502, no other healthy host to retry on', violations };
      if (seen.status !== 200) fail(`status ${seen.status}: ${String(seen.lines[0]?.error ?? '')}`);
      else if (!complete)
        fail(
          `not the complete reply (${body.contents.length}/${plan.tokens.length} tokens, ${body.terminal ?? 'no end'}: ${body.errors[0] ?? ''})`,
        );
      if (RETRIED.has(plan.scenario) && !retried) fail('the failed first attempt was not retried');
      if (last?.aborted) fail('the upstream was aborted although the client read everything');
      return { outcome: retried ? 'complete after a retry' : 'complete', violations };
    }
    case 'stall-before-first-token': {
      const error = String(seen.lines[0]?.error ?? '');
      if (seen.status !== 504 || !/^timed out after \d+ ms waiting for the first token/.test(error)) {
        fail(
          `expected 504 first-token timeout, got ${seen.status} ${error || `(${body.contents.length} tokens)`}`,
        );
      }
      if (retried) fail('a first-token timeout was retried');
      if (!last?.aborted) fail('the stalled upstream request was not aborted');
      return { outcome: '504 first-token timeout', violations };
    }
    case 'stall-after-first-token':
    case 'death-mid-stream':
    case 'in-band-error':
    case 'end-without-done': {
      const want = ERROR_AFTER_FIRST_TOKEN[plan.scenario]?.(plan) ?? '';
      if (seen.status !== 200) fail(`status ${seen.status}, expected 200 then an error frame`);
      else if (body.terminal !== 'error')
        fail(`ended with ${body.terminal ?? 'nothing'}, expected one error frame`);
      else if (!matches(body.errors[0] ?? '', want))
        fail(`error frame "${body.errors[0]}", expected ${String(want)}`);
      if (!sameTokens(body.contents, plan.tokens.slice(0, plan.cut))) {
        fail(`${body.contents.length} tokens before the error, the upstream sent ${plan.cut}`);
      }
      if (plan.scenario === 'stall-after-first-token' && !last?.aborted)
        fail('the stalled upstream was not aborted');
      return { outcome: 'tokens then one error frame', violations };
    }
    case 'client-abort':
    case 'never-reading-client': {
      if (seen.status !== 200) fail(`status ${seen.status}`);
      if (body.terminal === 'done') return { outcome: 'complete before the client left', violations };
      // The upstream may finish on its own while the client's close is on its way; later than that, it was not
      // stopped when the client left.
      const ranOn = last !== undefined && !last.aborted && last.at > (seen.droppedAt ?? 0) + ABORT_GRACE_MS;
      if (!last || ranOn) fail('the client left but the upstream request was not aborted');
      if (last && !last.aborted) return { outcome: 'upstream finished as the client left', violations };
      if (plan.scenario === 'never-reading-client' && last) {
        const total = plan.tokens.reduce((sum, token) => sum + token.length, 0);
        if (last.bytesSent >= total)
          fail(`the upstream wrote the whole ${total}-byte reply to a client that read nothing`);
      }
      return {
        outcome:
          plan.scenario === 'client-abort' ? 'client left, upstream aborted' : 'never read, upstream aborted',
        violations,
      };
    }
    case 'resume': {
      if (seen.status !== 200) fail(`status ${seen.status}`);
      else if (!seen.dropped) {
        if (!complete) fail('not the complete reply');
      } else if (!seen.resumed) fail('no resume was made (no generation id?)');
      else if (seen.resumed.status === 204 && seen.lines.some((line) => line.done === true)) {
        // The client already had the done line when it dropped: nothing left to resume.
      } else if (seen.resumed.status !== 200) fail(`resume answered ${seen.resumed.status}`);
      if (!complete)
        fail(
          `frames before and after the resume are not the whole reply (${body.contents.length}/${plan.tokens.length} tokens, ${body.terminal ?? 'no end'})`,
        );
      if (last?.aborted) fail('the upstream was aborted although the client detached');
      return { outcome: 'resumed, whole reply', violations };
    }
  }
}
