// chatwire under soak: a real `chatwire serve` child, whose log and stderr are watched for what must never
// appear (a process warning, an unhandled rejection, an error-level line), without keeping every line.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, root } from '../test/support/child-gateway.js';

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Log lines per level name and message, e.g. "warn: host ejected". */
  logCounts: Map<string, number>;
  /** Lines that must not appear: stderr output, error/fatal log lines, unparsable stdout. A few are kept. */
  alarms: string[];
  alarmCount(): number;
  /** Set when the process ended on its own. */
  exited: { code: number | null; signal: string | null } | undefined;
  stop(): Promise<void>;
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const KEPT_ALARMS = 50;

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...CLI, 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      CHATWIRE_PORT: '0',
      CHATWIRE_LOG_LEVEL: 'info',
      CHATWIRE_DATA_DIR: mkdtempSync(join(tmpdir(), 'chatwire-soak-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let alarms = 0;
  const gateway: GatewayProcess = {
    child,
    pid: child.pid ?? 0,
    url: '',
    logCounts: new Map(),
    alarms: [],
    alarmCount: () => alarms,
    exited: undefined,
    async stop() {
      if (gateway.exited || child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
  const alarm = (text: string) => {
    alarms++;
    if (gateway.alarms.length < KEPT_ALARMS) gateway.alarms.push(text.slice(0, 500));
  };
  let listening: (url: string) => void = () => {};
  const ready = new Promise<string>((resolve) => {
    listening = resolve;
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      alarm(`stdout: ${text}`);
      return;
    }
    const level = LEVELS[Number(line.level)] ?? String(line.level);
    const msg = String(line.msg);
    if (/^listening on/.test(msg)) listening(String(line.address));
    // The request log's message names the route and status; counting by it would make one bucket per id.
    const key = `${level}: ${msg.replace(/gen_[\w-]+|\d+/g, '#')}`;
    gateway.logCounts.set(key, (gateway.logCounts.get(key) ?? 0) + 1);
    if (Number(line.level) >= 50 || /unhandled|uncaught/i.test(msg)) alarm(`log: ${text}`);
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) =>
    alarm(`stderr: ${text}`),
  );
  const exitedEarly = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => {
      gateway.exited = { code, signal };
      reject(new Error(`chatwire exited (${code ?? signal}) before listening: ${gateway.alarms.join('\n')}`));
    }),
  );
  exitedEarly.catch(() => {});
  gateway.url = await Promise.race([ready, exitedEarly]);
  return gateway;
}
