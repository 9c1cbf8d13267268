import { ChatwireError } from '../client/errors.js';

/** Where the client commands look for a running gateway unless told otherwise. */
export function defaultUrl(): string {
  return process.env.CHATWIRE_URL || 'http://127.0.0.1:8080';
}

/** The key the client commands send as a bearer token: --api-key, else $CHATWIRE_API_KEY, else none. */
export function apiKeyOf(flag: string | undefined): string | undefined {
  return flag ?? (process.env.CHATWIRE_API_KEY || undefined);
}

export const API_KEY_HELP = 'sent as Authorization: Bearer <key> (default: $CHATWIRE_API_KEY)';

/** Thrown by a command to end with a message on stderr and an exit code. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** The one-line message a user sees for a failed call to chatwire at `url`. */
export function describeFailure(error: unknown, url: string): string {
  if (error instanceof ChatwireError && error.code === 'network_error') return unreachable(url, error.cause);
  if (error instanceof Error) return error.message;
  return String(error);
}

/** "cannot reach chatwire at …", with the serve hint when nothing listens there. */
export function unreachable(url: string, cause: unknown): string {
  const base = url.replace(/\/+$/, '');
  if (hasCode(cause, 'ECONNREFUSED')) return `cannot reach chatwire at ${base}: is "chatwire serve" running?`;
  return `cannot reach chatwire at ${base}: ${rootMessage(cause)}`;
}

/** Whether an error or any error it wraps (cause chains, AggregateError) has this errno code. */
function hasCode(error: unknown, code: string, depth = 0): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (candidate.code === code) return true;
  if (Array.isArray(candidate.errors) && candidate.errors.some((inner) => hasCode(inner, code, depth + 1)))
    return true;
  return hasCode(candidate.cause, code, depth + 1);
}

/** The innermost useful message ("fetch failed" says nothing). */
function rootMessage(error: unknown): string {
  let current = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message;
}

/** Sets the exit code once stdout and stderr have taken everything written so far, then exits. */
export async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

/** Runs a command's body: a CliExit or any other error ends the process with `chatwire: <message>`. */
export async function runCommand(body: () => Promise<number>, url?: () => string): Promise<never> {
  let code: number;
  try {
    code = await body();
  } catch (error) {
    if (error instanceof CliExit) {
      process.stderr.write(`chatwire: ${error.message}\n`);
      code = error.code;
    } else {
      process.stderr.write(`chatwire: ${url ? describeFailure(error, url()) : String(error)}\n`);
      code = 1;
    }
  }
  return exitAfterFlush(code);
}
