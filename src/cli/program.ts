// The chatwire command line; main.ts loads it once the heap is tuned.
import { Command, InvalidArgumentError } from 'commander';
import { CONFIG_VARIABLES } from '../config/config.js';
import { VERSION } from '../version.js';
import { registerChatCommand } from './chat-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerKeysCommand } from './keys-command.js';
import { registerModelsCommand } from './models-command.js';
import { registerPullCommand } from './pull-command.js';
import { serve } from './serve.js';

const program = new Command('chatwire').description('Streaming chat gateway for local LLMs').version(VERSION);

const serveCommand = program
  .command('serve')
  .description('run the gateway; every configuration variable (see the README) is also a flag, e.g. --model')
  .option('-H, --host <host>', 'address to listen on (CHATWIRE_HOST)')
  .option('-p, --port <port>', 'port to listen on (CHATWIRE_PORT)', parsePort)
  .option('--pull', "download the embedded engine's model first if it is missing (CHATWIRE_PULL)");
// One flag per variable: CHATWIRE_FIRST_TOKEN_TIMEOUT_MS → --first-token-timeout-ms, OLLAMA_HOST → --ollama-host.
const flagVariables = new Map<string, string>([
  ['host', 'CHATWIRE_HOST'],
  ['port', 'CHATWIRE_PORT'],
  ['pull', 'CHATWIRE_PULL'],
]);
for (const variable of CONFIG_VARIABLES) {
  const flag = variable
    .replace(/^CHATWIRE_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
  if (flag === 'host' || flag === 'port' || flag === 'pull') continue;
  serveCommand.option(`--${flag} <value>`, variable);
  flagVariables.set(
    flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()),
    variable,
  );
}
serveCommand.action(async (options: Record<string, string | number>) => {
  const flags: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    const variable = flagVariables.get(key);
    if (variable !== undefined) flags[variable] = String(value);
  }
  await serve(flags);
});

registerChatCommand(program);
registerModelsCommand(program);
registerDoctorCommand(program);
registerPullCommand(program);
registerKeysCommand(program);

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('not a port number');
  return port;
}

await program.parseAsync(process.argv);
