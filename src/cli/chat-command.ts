import type { Command } from 'commander';
import type { ChatStream } from '../client/chat-stream.js';
import { createClient } from '../client/client.js';
import { API_KEY_HELP, apiKeyOf, CliExit, defaultUrl, describeFailure, runCommand } from './cli-support.js';
import { type PrintedReply, printReply, summary } from './print-reply.js';
import { runRepl } from './repl/run-repl.js';

export interface ChatOptions {
  url: string;
  apiKey?: string;
  model?: string;
  persona?: string;
  json?: boolean;
}

/**
 * `chatwire chat "prompt"`: one question to a running gateway, the reply streamed to stdout.
 * Without a prompt, in a terminal, an interactive conversation (the REPL).
 */
export function registerChatCommand(program: Command): void {
  program
    .command('chat')
    .description('send a prompt to a running chatwire and stream the reply; without one, in a terminal, chat')
    .argument('[prompt]', 'the prompt; piped stdin is added after a blank line')
    .option('-u, --url <url>', 'where chatwire listens (default: $CHATWIRE_URL or http://127.0.0.1:8080)')
    .option('-k, --api-key <key>', API_KEY_HELP)
    .option('-m, --model <model>', 'model to ask (must be allowed by the gateway)')
    .option('-p, --persona <name>', 'persona to use')
    .option('--json', 'print the stream events as NDJSON, one JSON object per line')
    .action(async (prompt: string | undefined, options: Omit<ChatOptions, 'url'> & { url?: string }) => {
      const resolved = { ...options, url: options.url ?? defaultUrl(), apiKey: apiKeyOf(options.apiKey) };
      await runCommand(
        () => (prompt === undefined && process.stdin.isTTY ? interactive(resolved) : chat(prompt, resolved)),
        () => resolved.url,
      );
    });
}

function interactive(options: ChatOptions): Promise<number> {
  if (options.json) {
    throw new CliExit('--json needs a prompt: pass one (chatwire chat --json "…") or pipe one in', 2);
  }
  return runRepl(options);
}

export async function chat(promptArg: string | undefined, options: ChatOptions): Promise<number> {
  const controller = new AbortController();
  let interrupted = false;
  process.on('SIGINT', () => {
    // A second Ctrl-C does not wait for anything.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort(new Error('interrupted'));
  });

  const prompt = await readPrompt(promptArg, controller.signal);
  if (interrupted) return 130;

  const client = createClient({
    baseUrl: options.url,
    ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
    // Ctrl-C must stop the model even when the process exits at once: the gateway aborts it as the
    // connection closes, where a resumable stream would need a stop request sent on the way out.
    resume: false,
  });
  const stream = client.chat.stream({
    messages: [{ role: 'user', content: prompt }],
    ...(options.model !== undefined && { model: options.model }),
    ...(options.persona !== undefined && { persona: options.persona }),
    signal: controller.signal,
  });

  const startedAt = performance.now();
  const printed = options.json ? await printJson(stream) : await printReply(stream);
  // A terminal gets its newline; a pipe gets exactly the reply.
  const endLine = () => {
    if (!options.json && process.stdout.isTTY && !printed.text.endsWith('\n')) process.stdout.write('\n');
  };
  if (interrupted) {
    endLine();
    process.stderr.write('chatwire: interrupted\n');
    return 130;
  }
  if (printed.error !== undefined) {
    if (printed.text !== '') endLine();
    throw new CliExit(describeFailure(printed.error, options.url), 1);
  }
  endLine();
  if (!options.json && printed.stats) {
    process.stderr.write(`${summary(printed.stats, performance.now() - startedAt)}\n`);
  }
  return 0;
}

async function printJson(stream: ChatStream): Promise<PrintedReply> {
  try {
    for await (const event of stream) process.stdout.write(`${JSON.stringify(event)}\n`);
    return { text: '' };
  } catch (error) {
    return { text: '', error };
  }
}

/** The argument, plus all of stdin after a blank line when stdin is piped. */
async function readPrompt(promptArg: string | undefined, signal: AbortSignal): Promise<string> {
  const piped = process.stdin.isTTY ? undefined : await readStdin(signal);
  const parts = [promptArg, piped].filter((part): part is string => part !== undefined && part.trim() !== '');
  if (parts.length > 0) return parts.join('\n\n');
  if (signal.aborted) return '';
  throw new CliExit('no prompt: pass one as an argument or on stdin', 2);
}

function readStdin(signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stdin = process.stdin;
    const onAbort = () => {
      stdin.pause();
      resolve('');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    stdin.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    stdin.once('error', reject);
  });
}
