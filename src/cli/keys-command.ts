import { type Command, InvalidArgumentError } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { type ApiKeyRecord, type KeyLimits, KeyNameTakenError, type KeyStore } from '../keys/key-store.js';
import { openStorage } from '../storage/open-conversation-store.js';
import { CliExit, runCommand } from './cli-support.js';

/**
 * `chatwire keys create|list|revoke`: API keys, kept in the database the gateway uses (DATABASE_URL or the
 * SQLite file in CHATWIRE_DATA_DIR). Running gateways pick changes up within CHATWIRE_KEYS_REFRESH_MS.
 */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('create, list and revoke API keys (in the configured database)');

  keys
    .command('create')
    .description('create a key and print it, once: only its hash is kept')
    .requiredOption('--name <name>', 'what listings, logs and metrics call the key')
    .option('--admin', 'may read every conversation, and /metrics when CHATWIRE_METRICS_REQUIRE_KEY is on')
    .option('--rpm <n>', 'requests per minute at most', positive)
    .option('--streams <n>', 'streams at once at most', positive)
    .option('--tokens-per-day <n>', 'completion tokens per UTC day at most', positive)
    .action(
      async (options: {
        name: string;
        admin?: boolean;
        rpm?: number;
        streams?: number;
        tokensPerDay?: number;
      }) => {
        await runCommand(() =>
          withKeys(async (store) => {
            const limits: KeyLimits = {
              rpm: options.rpm ?? null,
              streams: options.streams ?? null,
              tokensPerDay: options.tokensPerDay ?? null,
            };
            let created: Awaited<ReturnType<KeyStore['create']>>;
            try {
              created = await store.create({ name: options.name, admin: options.admin === true, limits });
            } catch (error) {
              if (error instanceof KeyNameTakenError || error instanceof RangeError)
                throw new CliExit(error.message, 2);
              throw error;
            }
            process.stdout.write(`${created.key}\n`);
            process.stderr.write(
              `created key "${created.record.name}"${created.record.admin ? ' (admin)' : ''}: ` +
                'copy it now, it is not shown again. Clients send it as Authorization: Bearer <key>.\n',
            );
            return 0;
          }),
        );
      },
    );

  keys
    .command('list')
    .description('every key: name, prefix, limits, created, last used (never the key)')
    .option('--json', 'as JSON')
    .action(async (options: { json?: boolean }) => {
      await runCommand(() =>
        withKeys(async (store) => {
          const list = (await store.list()).map(publicView);
          process.stdout.write(options.json ? `${JSON.stringify(list, null, 2)}\n` : table(list));
          return 0;
        }),
      );
    });

  keys
    .command('revoke')
    .description('revoke the active key of that name; running gateways refuse it within seconds')
    .argument('<name>')
    .action(async (name: string) => {
      await runCommand(() =>
        withKeys(async (store) => {
          if (!(await store.revoke(name)))
            throw new CliExit(`no active key is named ${JSON.stringify(name)}`, 1);
          process.stderr.write(`revoked key "${name}"\n`);
          return 0;
        }),
      );
    });
}

async function withKeys(body: (store: KeyStore) => Promise<number>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliExit(error.message, 2);
    throw error;
  }
  const storage = await openStorage(config.storage);
  try {
    return await body(storage.keys);
  } finally {
    await storage.conversations.close();
  }
}

function publicView(record: ApiKeyRecord) {
  return {
    name: record.name,
    prefix: record.prefix,
    admin: record.admin,
    rpm: record.limits.rpm,
    streams: record.limits.streams,
    tokensPerDay: record.limits.tokensPerDay,
    createdAt: record.createdAt,
    lastUsedAt: record.lastUsedAt,
    revokedAt: record.revokedAt,
  };
}

function table(rows: Array<ReturnType<typeof publicView>>): string {
  if (rows.length === 0)
    return 'no keys: auth is off unless CHATWIRE_REQUIRE_AUTH=true (chatwire keys create makes one)\n';
  const header = [
    'NAME',
    'PREFIX',
    'ADMIN',
    'RPM',
    'STREAMS',
    'TOKENS/DAY',
    'CREATED',
    'LAST USED',
    'REVOKED',
  ];
  const cells = rows.map((row) => [
    row.name,
    `${row.prefix}…`,
    row.admin ? 'yes' : '',
    row.rpm ?? '-',
    row.streams ?? '-',
    row.tokensPerDay ?? '-',
    row.createdAt.slice(0, 19).replace('T', ' '),
    row.lastUsedAt?.slice(0, 19).replace('T', ' ') ?? 'never',
    row.revokedAt?.slice(0, 19).replace('T', ' ') ?? '',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...cells.map((row) => String(row[i]).length)),
  );
  const line = (values: Array<string | number>) =>
    values
      .map((value, i) => String(value).padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...cells.map(line)].join('\n')}\n`;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a positive whole number');
  return n;
}
