import type { Command } from 'commander';
import { ChatwireError, errorFromResponse } from '../client/errors.js';
import { API_KEY_HELP, apiKeyOf, CliExit, defaultUrl, describeFailure, runCommand } from './cli-support.js';

interface ModelList {
  data: Array<{ id: string; owned_by?: string; created?: number }>;
}

/** `chatwire models`: what the running gateway serves (GET /v1/models). */
export function registerModelsCommand(program: Command): void {
  program
    .command('models')
    .description('list the models a running chatwire serves')
    .option('-u, --url <url>', 'where chatwire listens (default: $CHATWIRE_URL or http://127.0.0.1:8080)')
    .option('-k, --api-key <key>', API_KEY_HELP)
    .option('--json', 'print the JSON answer as is')
    .action(async (options: { url?: string; apiKey?: string; json?: boolean }) => {
      const url = (options.url ?? defaultUrl()).replace(/\/+$/, '');
      await runCommand(async () => {
        const body = await fetchModels(url, apiKeyOf(options.apiKey));
        if (options.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        else process.stdout.write(formatTable(body));
        return 0;
      });
    });
}

async function fetchModels(url: string, apiKey: string | undefined): Promise<ModelList> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  let response: Response;
  try {
    response = await fetch(`${url}/v1/models`, { headers, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CliExit(describeFailure(new ChatwireError('', 0, 'network_error', { cause: error }), url), 1);
  }
  if (!response.ok) {
    const error = await errorFromResponse(response);
    throw new CliExit(`cannot list models: ${error.message} (HTTP ${response.status})`, 1);
  }
  const body = (await response.json().catch(() => undefined)) as ModelList | undefined;
  if (!body || !Array.isArray(body.data)) throw new CliExit(`${url}/v1/models sent no model list`, 1);
  return body;
}

export function formatTable(body: ModelList): string {
  if (body.data.length === 0) return 'no models\n';
  const rows = [['ID', 'OWNED BY'], ...body.data.map((model) => [model.id, model.owned_by ?? ''])];
  const width = Math.max(...rows.map(([id]) => (id ?? '').length));
  return `${rows.map(([id, owner]) => `${(id ?? '').padEnd(width)}  ${owner}`.trimEnd()).join('\n')}\n`;
}
