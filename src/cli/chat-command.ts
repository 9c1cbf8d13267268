import type { Command } from 'commander';
import { createClient } from '../client/client.js';
import type { ChatStats } from '../client/types.js';
import { CliExit, defaultUrl, describeFailure, runCommand } from './cli-support.js';

export interface ChatOptions {
  url: string;
  apiKey?: string;
  model?: string;
  persona?: string;
  json?: boolean;
}

/** `chatwire chat "prompt"`: one question to a running gateway, the reply streamed to stdout. */
export function registerChatCommand(program: Command): void {
  program
    .command('chat')
    .description('send one prompt to a running chatwire and stream the reply (piped stdin is appended)')
    .argument('[prompt]', 'the prompt; piped stdin is added after a blank line')
    .option('-u, --url <url>', 'where chatwire listens (default: $CHATWIRE_URL or http://127.0.0.1:8080)')
    .option('-k, --api-key <key>', 'sent as Authorization: Bearer <key>')
    .option('-m, --model <model>', 'model to ask (must be allowed by the gateway)')
    .option('-p, --persona <name>', 'persona to use')
    .option('--json', 'print the stream events as NDJSON, one JSON object per line')
    .action(async (prompt: string | undefined, options: Omit<ChatOptions, 'url'> & { url?: string }) => {
      const url = options.url ?? defaultUrl();
      await runCommand(
        () => chat(prompt, { ...options, url }),
        () => url,
      );
    });
}

const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

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
  });
  const stream = client.chat.stream({
    messages: [{ role: 'user', content: prompt }],
    ...(options.model !== undefined && { model: options.model }),
    ...(options.persona !== undefined && { persona: options.persona }),
    signal: controller.signal,
  });

  const spinner = options.json ? undefined : startSpinner();
  const startedAt = performance.now();
  let lastText = '';
  let stats: ChatStats | undefined;
  try {
    for await (const event of stream) {
      if (options.json) {
        process.stdout.write(`${JSON.stringify(event)}\n`);
        continue;
      }
      switch (event.type) {
        case 'text':
          spinner?.stop();
          process.stdout.write(event.text);
          lastText = event.text;
          break;
        case 'thinking':
          spinner?.stop();
          process.stderr.write(process.stderr.isTTY ? `\x1b[2m${event.text}\x1b[22m` : event.text);
          break;
        case 'tool_calls':
          spinner?.stop();
          process.stderr.write(`[tool calls] ${JSON.stringify(event.toolCalls)}\n`);
          break;
        case 'done':
          stats = event.stats;
          break;
      }
    }
  } catch (error) {
    spinner?.stop();
    if (interrupted) {
      if (!options.json && process.stdout.isTTY) process.stdout.write('\n');
      process.stderr.write('chatwire: interrupted\n');
      return 130;
    }
    if (lastText !== '' && process.stdout.isTTY) process.stdout.write('\n');
    throw new CliExit(describeFailure(error, options.url), 1);
  }
  spinner?.stop();
  if (!options.json) {
    // A terminal gets its newline; a pipe gets exactly the reply.
    if (process.stdout.isTTY && !lastText.endsWith('\n')) process.stdout.write('\n');
    if (stats) process.stderr.write(`${summary(stats, performance.now() - startedAt)}\n`);
  }
  return 0;
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

/** The argument, plus all of stdin after a blank line when stdin is piped. */
async function readPrompt(promptArg: string | undefined, signal: AbortSignal): Promise<string> {
  const piped = process.stdin.isTTY ? undefined : await readStdin(signal);
  const parts = [promptArg, piped].filter((part): part is string => part !== undefined && part.trim() !== '');
  if (parts.length > 0) return parts.join('\n\n');
  if (signal.aborted) return '';
  if (process.stdin.isTTY) {
    throw new CliExit(
      'the interactive mode is not available yet: pass a prompt (chatwire chat "…") or pipe one in',
      2,
    );
  }
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

/** A spinner on stderr until the first token, only when stderr is a terminal. */
function startSpinner(): { stop(): void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let frame = 0;
  const draw = () => process.stderr.write(`\r${SPINNER_FRAMES[frame++ % SPINNER_FRAMES.length]} waiting…`);
  draw();
  const timer = setInterval(draw, 80);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      process.stderr.write('\r\x1b[K');
    },
  };
}
