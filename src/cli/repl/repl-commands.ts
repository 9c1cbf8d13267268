import type { ChatSession, HistoryEntry } from './chat-session.js';

export const HELP = `Commands:
  /model [name]     use this model from the next message on (no name: show the model;
                    "default": the persona's own model again)
  /persona [name]   use this persona from the next message on (no name: show the persona)
  /new              start a new conversation (also /clear)
  /history          show the conversation so far
  /help             show this help (also /?)
  /exit             leave (also /bye, or Ctrl-D)

Input:
  """ starts a message of several lines, which ends at a line ending with """
  a line ending with \\ continues on the next line
  Ctrl-C stops a reply; at an empty prompt, twice, it leaves
`;

export interface CommandContext {
  session: ChatSession;
  signal: AbortSignal;
  /** The command's answer, for stdout. */
  print(text: string): void;
}

/** Runs one slash command; returns whether the REPL ends. Errors are the caller's to show. */
export async function runReplCommand(
  name: string,
  argument: string,
  { session, signal, print }: CommandContext,
): Promise<'exit' | 'continue'> {
  switch (name) {
    case 'exit':
    case 'bye':
      return 'exit';
    case 'help':
    case '?':
      print(HELP);
      break;
    case 'new':
    case 'clear':
      session.startOver();
      print('new conversation\n');
      break;
    case 'history':
      print(formatHistory(await session.history(signal)));
      break;
    case 'persona':
      if (argument !== '') await session.setPersona(argument, signal);
      print(`persona: ${session.persona}\n`);
      break;
    case 'model':
      if (argument !== '') await session.setModel(argument === 'default' ? undefined : argument, signal);
      print(`model: ${await describeModel(session, signal)}\n`);
      break;
    default:
      throw new Error(`unknown command '/${name}': /help lists the commands`);
  }
  return 'continue';
}

async function describeModel(session: ChatSession, signal: AbortSignal): Promise<string> {
  if (session.model !== undefined) return session.model;
  const own = await session.personaModel(signal);
  return own === undefined
    ? `the model of persona ${session.persona}`
    : `${own} (persona ${session.persona}'s)`;
}

export function formatHistory(entries: HistoryEntry[]): string {
  if (entries.length === 0) return '(no messages yet)\n';
  return entries
    .map((entry) => {
      const who = entry.role === 'user' ? 'you' : 'assistant';
      return `${who}${entry.note ? ` (${entry.note})` : ''}: ${entry.content}\n`;
    })
    .join('');
}
