import { createClient } from '../../client/client.js';
import { describeFailure } from '../cli-support.js';
import { dim, printReply, summary } from '../print-reply.js';
import { ChatSession } from './chat-session.js';
import { InputAssembler } from './input-assembler.js';
import { PromptReader } from './prompt-reader.js';
import { runReplCommand } from './repl-commands.js';

export interface ReplOptions {
  url: string;
  apiKey?: string;
  model?: string;
  persona?: string;
}

/**
 * `chatwire chat` in a terminal: a conversation at a `>>> ` prompt, like `ollama run`. Returns the exit code:
 * 0 for /exit, /bye or Ctrl-D, 130 for Ctrl-C twice at an empty prompt.
 */
export async function runRepl(options: ReplOptions): Promise<number> {
  const client = createClient({
    baseUrl: options.url,
    ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
    // Ctrl-C must stop the model even when the process exits at once: the gateway aborts it as the
    // connection closes, where a resumable stream would need a stop request sent on the way out.
    resume: false,
  });
  const note = (text: string) => process.stderr.write(`${dim(text)}\n`);
  const session = new ChatSession(
    client,
    {
      ...(options.persona !== undefined && { persona: options.persona }),
      ...(options.model !== undefined && { model: options.model }),
    },
    note,
  );
  const reader = new PromptReader(process.stdin, process.stdout);
  const input = new InputAssembler();
  // What Ctrl-C stops while no prompt is showing: the reply or the command in progress.
  let busy: AbortController | undefined;
  reader.onBusyInterrupt = () => busy?.abort(new Error('interrupted'));
  const onSignal = () => reader.interrupt();
  process.on('SIGINT', onSignal);

  const fail = (error: unknown) => process.stderr.write(`error: ${describeFailure(error, options.url)}\n`);

  async function converse(text: string): Promise<void> {
    const controller = new AbortController();
    busy = controller;
    const startedAt = performance.now();
    const printed = await printReply(session.send(text, controller.signal));
    busy = undefined;
    if (printed.text !== '' && !printed.text.endsWith('\n')) process.stdout.write('\n');
    if (controller.signal.aborted) note('(interrupted)');
    else if (printed.error !== undefined) fail(printed.error);
    else if (printed.stats) note(summary(printed.stats, performance.now() - startedAt));
    process.stdout.write('\n');
  }

  async function command(name: string, argument: string): Promise<'exit' | 'continue'> {
    const controller = new AbortController();
    busy = controller;
    try {
      const print = (text: string) => process.stdout.write(text);
      return await runReplCommand(name, argument, { session, signal: controller.signal, print });
    } catch (error) {
      if (controller.signal.aborted) note('(interrupted)');
      else fail(error);
      return 'continue';
    } finally {
      busy = undefined;
    }
  }

  note(`chatwire at ${options.url} · /help for commands · Ctrl-D or /bye to leave`);
  try {
    let interruptsInARow = 0;
    for (;;) {
      const read = await reader.read(input.prompt);
      if (read.kind === 'end') {
        process.stdout.write('\n');
        return 0;
      }
      if (read.kind === 'interrupt') {
        if (read.discardedText || input.pending) {
          input.reset();
          interruptsInARow = 0;
        } else if (++interruptsInARow >= 2) {
          return 130;
        } else {
          note('press Ctrl-C again to leave (or Ctrl-D, or /bye)');
        }
        continue;
      }
      interruptsInARow = 0;
      const assembled = input.push(read.text);
      if (assembled.kind === 'command' && (await command(assembled.name, assembled.argument)) === 'exit')
        return 0;
      if (assembled.kind === 'message') await converse(assembled.text);
    }
  } finally {
    process.off('SIGINT', onSignal);
    reader.close();
  }
}
