import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostStatus } from '../../src/upstream/pool/upstream-pool.js';
import { type OllamaSimulator, startOllamaSimulator } from './ollama-simulator.js';
import { type RunningGateway, startGateway } from './start-gateway.js';

/** Several Ollama simulators behind one gateway, each host named `127.0.0.1:PORT` as the gateway names it. */
export interface PoolFixture {
  sims: OllamaSimulator[];
  chatwire: RunningGateway;
  logLines: Array<Record<string, unknown>>;
  nameOf(sim: OllamaSimulator): string;
  upstreams(): Promise<HostStatus[]>;
  close(): Promise<void>;
}

export interface PoolFixtureOptions {
  hosts?: number;
  models?: string[][];
  /** Per host; the config file's `maxStreams`. */
  maxStreams?: number;
  env?: Record<string, string>;
}

/** Fast health checks and short ejections, so a test sees a host leave and come back in well under a second. */
const QUICK_HEALTH = {
  CHATWIRE_HEALTH_INTERVAL_MS: '100',
  CHATWIRE_EJECT_MS: '300',
  CHATWIRE_CONNECT_TIMEOUT_MS: '1000',
};

export async function startPool(options: PoolFixtureOptions = {}): Promise<PoolFixture> {
  const count = options.hosts ?? 3;
  const sims = await Promise.all(
    Array.from({ length: count }, (_, index) => {
      const models = options.models?.[index];
      return startOllamaSimulator(models === undefined ? {} : { models });
    }),
  );
  const nameOf = (sim: OllamaSimulator) => `127.0.0.1:${sim.port}`;
  const file = join(mkdtempSync(join(tmpdir(), 'chatwire-pool-')), 'chatwire.json');
  writeFileSync(
    file,
    JSON.stringify({
      upstreams: sims.map((sim) => ({ url: sim.url, maxStreams: options.maxStreams ?? 4 })),
    }),
  );
  const logLines: Array<Record<string, unknown>> = [];
  const chatwire = await startGateway(
    sims[0]?.url ?? '',
    { ...QUICK_HEALTH, CHATWIRE_CONFIG_FILE: file, CHATWIRE_ALLOWED_MODELS: '*', ...options.env },
    { logLines },
  );
  return {
    sims,
    chatwire,
    logLines,
    nameOf,
    async upstreams() {
      return (await (await fetch(`${chatwire.url}/v1/upstreams`)).json()) as HostStatus[];
    },
    async close() {
      await chatwire.close();
      await Promise.all(sims.map((sim) => sim.close()));
    },
  };
}

/** Polls an observable condition (never a fixed sleep), failing with `what` if it does not hold in time. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
