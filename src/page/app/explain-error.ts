import { ChatwireError } from '../../client/index';

export interface Explained {
  /** What a person reads where the reply would be. */
  text: string;
  /** The gateway's own words, when they add something. */
  detail?: string;
  /** A key is missing or wrong: the page asks for one. */
  needsKey?: boolean;
  /** The HTTP status, when the gateway answered with one. */
  status?: number;
}

/** Turns what the gateway said into words a person understands, keeping its message as the detail. */
export function explainError(error: unknown): Explained {
  if (!(error instanceof ChatwireError)) return { text: 'Something went wrong.', detail: String(error) };
  return { ...explain(error), ...(error.status > 0 && error.status !== 200 && { status: error.status }) };
}

function explain({ message, status, code }: ChatwireError): Explained {
  const unreachable = /cannot connect to (.+?) at (\S+?): /.exec(message);
  if (unreachable) {
    return {
      text: `${unreachable[1]} is not reachable at ${unreachable[2]}. Is it running?`,
      detail: message,
    };
  }
  const missing = /model '([^']+)' not found/.exec(message);
  if (missing) {
    const model = missing[1] as string;
    return {
      text: `Model '${model}' is not installed on any server — run \`ollama pull ${model}\`.`,
      detail: message,
    };
  }
  if (status === 401) return { text: 'This chatwire needs an API key.', detail: message, needsKey: true };
  if (status === 403) return { text: 'This API key may not do that.', detail: message };
  if (status === 429) return { text: 'Too many requests for now; try again in a moment.', detail: message };
  if (code === 'network_error')
    return { text: 'chatwire is not reachable. Is it still running?', detail: message };
  if (code === 'truncated') return { text: 'The connection ended before the reply was complete.' };
  if (status === 504 || /timed out|stalled|timeout/.test(message)) {
    return { text: 'The model took too long to answer.', detail: message };
  }
  if (status === 503 && /busy|overloaded|stream limit/.test(message)) {
    return { text: 'Every model server is busy; try again in a moment.', detail: message };
  }
  return { text: message };
}
