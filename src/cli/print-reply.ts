import type { ChatEvent, ChatStats } from '../client/types.js';
import { startSpinner } from './spinner.js';

export interface PrintedReply {
  /** All the reply text written to stdout, also when the stream failed part way. */
  text: string;
  /** Present when the stream ended with its done event. */
  stats?: ChatStats;
  /** Why the stream ended early (an abort comes as the signal's reason). */
  error?: unknown;
}

/**
 * Writes a reply as it streams: text to stdout, thinking and tool calls to stderr, a spinner on a terminal
 * until the first of them. A failure is returned rather than thrown, so the caller can still see what was
 * printed before it.
 */
export async function printReply(events: AsyncIterable<ChatEvent>): Promise<PrintedReply> {
  const spinner = startSpinner();
  const printed: PrintedReply = { text: '' };
  try {
    for await (const event of events) {
      switch (event.type) {
        case 'text':
          spinner?.stop();
          process.stdout.write(event.text);
          printed.text += event.text;
          break;
        case 'thinking':
          spinner?.stop();
          process.stderr.write(dim(event.text));
          break;
        case 'tool_calls':
          spinner?.stop();
          process.stderr.write(`[tool calls] ${JSON.stringify(event.toolCalls)}\n`);
          break;
        case 'done':
          printed.stats = event.stats;
          break;
      }
    }
  } catch (error) {
    printed.error = error;
  } finally {
    spinner?.stop();
  }
  return printed;
}

/** "42 tokens · 31.2 tokens/s · first token 180 ms · 1.6 s" */
export function summary(stats: ChatStats, elapsedMs: number): string {
  const parts = [
    `${stats.completionTokens} tokens`,
    `${stats.tokensPerSecond > 0 ? stats.tokensPerSecond.toFixed(1) : '-'} tokens/s`,
    `first token ${stats.ttftMs !== undefined ? `${Math.round(stats.ttftMs)} ms` : '-'}`,
    `${(elapsedMs / 1000).toFixed(1)} s`,
  ];
  return parts.join(' · ');
}

/** Faint text on a terminal (stderr), plain text anywhere else. */
export function dim(text: string): string {
  return process.stderr.isTTY ? `\x1b[2m${text}\x1b[22m` : text;
}
