import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { isGatewayError } from '../contracts/gateway-error.js';
import { openStorage } from '../storage/open-conversation-store.js';
import type { ChatUpstream } from '../upstream/chat-upstream.js';
import { createUpstream } from '../upstream/create-upstream.js';
import { canonicalModel } from '../upstream/pool/pool-host.js';
import { UpstreamPool } from '../upstream/pool/upstream-pool.js';
import { runCommand } from './cli-support.js';

/** `chatwire doctor`: checks what `chatwire serve` needs, with this environment, and says how to fix each. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the configuration, the upstream, the model and the database (same environment as serve)',
    )
    .action(async () => {
      await runCommand(() => doctor());
    });
}

interface Report {
  ok(what: string): void;
  fail(what: string, fix?: string): void;
  failures: number;
}

function report(write: (line: string) => void): Report {
  const state: Report = {
    failures: 0,
    ok: (what) => write(`ok    ${what}`),
    fail: (what, fix) => {
      state.failures++;
      write(`FAIL  ${what}`);
      if (fix !== undefined) write(`      fix: ${fix}`);
    },
  };
  return state;
}

export async function doctor(
  env: Record<string, string | undefined> = process.env,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  const checks = report(write);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.fail(
      `configuration: ${error.message}`,
      'correct the variable named above (see "Configuration" in the README)',
    );
    return 1;
  }
  checks.ok(`configuration loads (upstream ${config.upstream.kind} at ${config.upstream.baseUrl})`);

  const upstream = createUpstream(config);
  try {
    if (upstream instanceof UpstreamPool && upstream.isPool) {
      await checkHosts(upstream, config, checks);
    } else {
      const reachable = await checkUpstream(upstream, config, checks);
      if (reachable) await checkModels(upstream, config, checks);
    }
  } finally {
    await upstream.close().catch(() => {});
  }
  await checkDatabase(config, checks);
  write(checks.failures === 0 ? 'all checks passed' : `${checks.failures} check(s) failed`);
  return checks.failures === 0 ? 0 : 1;
}

/** Each host of a pool on its own, then each wanted model on at least one host that answered. */
async function checkHosts(pool: UpstreamPool, config: Config, checks: Report): Promise<void> {
  const servedBy = new Map<string, string[]>();
  for (const host of pool.hosts) {
    if (!(await checkUpstream(host.upstream, config, checks, host.name))) continue;
    try {
      const models = await host.upstream.models(AbortSignal.timeout(config.timeouts.connectMs));
      for (const model of models) {
        const name = canonicalModel(host.config.kind, model.id);
        servedBy.set(name, [...(servedBy.get(name) ?? []), host.name]);
      }
    } catch (error) {
      checks.fail(`listing the models of ${host.name}: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  for (const model of wantedModels(config)) {
    const hosts = servedBy.get(
      canonicalModel(config.upstream.kind === 'ollama' ? 'ollama' : 'openai', model),
    );
    if (hosts !== undefined) checks.ok(`model ${model} is served by ${hosts.join(', ')}`);
    else
      checks.fail(
        `model ${model} is served by no upstream host that answered`,
        `ollama pull ${model} on one of them`,
      );
  }
}

function wantedModels(config: Config): string[] {
  return [...new Set([config.persona.model, ...config.personas.map((persona) => persona.model)])];
}

async function checkUpstream(
  upstream: ChatUpstream,
  config: Config,
  checks: Report,
  name?: string,
): Promise<boolean> {
  const timeoutMs = config.timeouts.connectMs;
  const what =
    name === undefined ? `upstream ${upstream.label}` : `upstream host ${name} (${upstream.label})`;
  try {
    const version = await upstream.version(AbortSignal.timeout(timeoutMs));
    checks.ok(`${what} ${version} answers at ${upstream.baseUrl}`);
    return true;
  } catch (error) {
    const reason = isGatewayError(error)
      ? error.message
      : error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : String((error as Error)?.message ?? error);
    checks.fail(
      `${what} at ${upstream.baseUrl}: ${reason}`,
      upstreamFix(config.upstream.kind, name !== undefined),
    );
    return false;
  }
}

function upstreamFix(kind: Config['upstream']['kind'], inPool: boolean): string {
  if (inPool)
    return 'is the server running there? correct CHATWIRE_UPSTREAMS or the config file, or leave the host out';
  switch (kind) {
    case 'ollama':
      return 'is "ollama serve" running? set OLLAMA_HOST, or run without Ollama: --engine embedded --pull';
    case 'openai':
      return 'is the server running? set CHATWIRE_UPSTREAM_URL (and CHATWIRE_UPSTREAM_API_KEY if it needs one)';
    case 'embedded':
      return 'run "chatwire pull" to download CHATWIRE_MODEL_FILE, or set it to a local .gguf file';
  }
}

async function checkModels(upstream: ChatUpstream, config: Config, checks: Report): Promise<void> {
  let served: string[];
  try {
    served = (await upstream.models(AbortSignal.timeout(config.timeouts.connectMs))).map((model) => model.id);
  } catch (error) {
    checks.fail(`listing the upstream's models: ${(error as Error)?.message ?? String(error)}`);
    return;
  }
  const wanted = wantedModels(config);
  const canonical = (name: string) =>
    config.upstream.kind === 'ollama' ? canonicalModel('ollama', name) : name;
  const available = new Set(served.map(canonical));
  for (const model of wanted) {
    if (available.has(canonical(model))) checks.ok(`model ${model} is served by the upstream`);
    else
      checks.fail(
        `model ${model} is not among the upstream's models (${served.join(', ') || 'none'})`,
        config.upstream.kind === 'ollama'
          ? `ollama pull ${model}, or set CHATWIRE_MODEL to one of the models listed`
          : 'set CHATWIRE_MODEL to one of the models listed',
      );
  }
}

async function checkDatabase(config: Config, checks: Report): Promise<void> {
  const { databaseUrl, dataDir } = config.storage;
  const where =
    databaseUrl === 'sqlite::memory:'
      ? 'SQLite in memory'
      : databaseUrl
        ? 'PostgreSQL from DATABASE_URL'
        : `SQLite in ${dataDir}`;
  try {
    const storage = await openStorage(config.storage);
    try {
      checks.ok(`database opens (${where})`);
      const active = await storage.keys.active();
      const admins = active.filter((key) => key.admin).length;
      if (active.length > 0) {
        checks.ok(
          `API keys: ${active.length} active (${admins} admin); every /v1 and /api request needs one`,
        );
      } else if (config.auth.requireAuth || (await storage.keys.any())) {
        checks.fail(
          'API keys: none active, so every /v1 and /api request is refused (CHATWIRE_REQUIRE_AUTH, or all revoked)',
          'chatwire keys create --name NAME',
        );
      } else {
        checks.ok(
          'API keys: none, so auth is off: anyone who can reach chatwire may use it (chatwire keys create)',
        );
      }
    } finally {
      await storage.conversations.close();
    }
  } catch (error) {
    checks.fail(
      `database: ${(error as Error)?.message ?? String(error)}`,
      config.storage.databaseUrl
        ? 'check DATABASE_URL and that the database server is running'
        : 'make CHATWIRE_DATA_DIR a writable folder',
    );
  }
}
