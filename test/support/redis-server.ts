import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** Debian's redis-server; `.ci/run` installs it, and makes its absence a failure (CHATWIRE_TEST_REDIS=required). */
const BINARY = process.env.CHATWIRE_TEST_REDIS_SERVER ?? '/usr/bin/redis-server';

export const redisSkipReason =
  existsSync(BINARY) || process.env.CHATWIRE_TEST_REDIS === 'required'
    ? undefined
    : `${BINARY} is not installed (apt-get install redis-server); .ci/run installs it`;

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** A throwaway Redis on a free 127.0.0.1 port, nothing persisted, stopped with the test. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    BINARY,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (/Ready to accept connections/.test(line)) resolve();
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
