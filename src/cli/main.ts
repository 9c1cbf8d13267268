#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { VERSION } from '../version.js';
import { registerChatCommand } from './chat-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerModelsCommand } from './models-command.js';
import { serve } from './serve.js';

const program = new Command('chatwire').description('Streaming chat gateway for local LLMs').version(VERSION);

program
  .command('serve')
  .description('run the gateway (configured by CHATWIRE_* environment variables; see the README)')
  .option('-H, --host <host>', 'address to listen on (overrides CHATWIRE_HOST)')
  .option('-p, --port <port>', 'port to listen on (overrides CHATWIRE_PORT)', parsePort)
  .action(async (options: { host?: string; port?: number }) => {
    await serve({
      ...(options.host !== undefined && { host: options.host }),
      ...(options.port !== undefined && { port: options.port }),
    });
  });

registerChatCommand(program);
registerModelsCommand(program);
registerDoctorCommand(program);

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('not a port number');
  return port;
}

await program.parseAsync(process.argv);
