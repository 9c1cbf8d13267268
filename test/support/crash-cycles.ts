import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { type BundledCli, bundleCli } from './bundled-cli.js';
import { type Child, startChild } from './child-gateway.js';
import { type CrashDatabase, openCrashDatabase } from './crash-database.js';
import { type CrashFigures, CrashLedger, REPLY_TOKENS } from './crash-ledger.js';
import { driveLoad, seededRandom } from './crash-load.js';
import type { StoreBackend } from './databases.js';
import { type OllamaSimulator, startOllamaSimulator } from './ollama-simulator.js';

export interface CrashRunOptions {
  cycles: number;
  seed: number;
  /** The kill lands this long after the load starts, uniformly at random between the two. */
  killAfterMs: [number, number];
  workers: number;
}

export interface CrashRun {
  figures: CrashFigures;
  integrityCoverage: string;
  /** Problems found, each prefixed with its cycle; empty when every check passed. */
  problems: string[];
  /** Milliseconds from spawning `chatwire serve` to it listening, per start. */
  startMs: number[];
  killAfterMs: number[];
}

/** Tokens 2 ms apart: a reply takes about a quarter of a second unloaded, so kills find some finished and most running. */
const TOKEN_DELAY_MS = 2;

/**
 * `cycles` times: start `chatwire serve` on the same database, check what the previous kill left (the
 * database's own integrity checks, then every acknowledged write against the ledger), drive the write
 * load, and kill -9 it at a random moment. A last start checks the last kill.
 */
export async function runCrashCycles(backend: StoreBackend, options: CrashRunOptions): Promise<CrashRun> {
  const random = seededRandom(options.seed);
  const ledger = new CrashLedger();
  const run: CrashRun = {
    figures: ledger.figures,
    integrityCoverage: '',
    problems: [],
    startMs: [],
    killAfterMs: [],
  };
  let sim: OllamaSimulator | undefined;
  let cli: BundledCli | undefined;
  let database: CrashDatabase | undefined;
  let child: Child | undefined;
  try {
    [sim, cli, database] = await Promise.all([
      startOllamaSimulator(),
      bundleCli('crash-gateway'),
      openCrashDatabase(backend),
    ]);
    run.integrityCoverage = database.integrityCoverage;
    const env = { OLLAMA_HOST: sim.url, ...database.env };
    for (let cycle = 0; cycle <= options.cycles; cycle++) {
      const startedAt = performance.now();
      child = await startChild(env, [], cli.args);
      run.startMs.push(performance.now() - startedAt);
      const found = [
        ...(await database.integrity()),
        ...ledger.verify(await database.snapshot(), upstreamTokens(sim)),
      ];
      run.problems.push(...found.map((problem) => `cycle ${cycle}: ${problem}`));
      if (found.length > 0 || cycle === options.cycles) break;

      sim.reset();
      sim.behave({ tokens: REPLY_TOKENS, tokenDelayMs: TOKEN_DELAY_MS });
      let stopped = false;
      const loadProblems: string[] = [];
      const load = driveLoad({
        url: child.url,
        ledger,
        random,
        cycle,
        workers: options.workers,
        stopped: () => stopped,
        problems: loadProblems,
      });
      const [from, to] = options.killAfterMs;
      const killAfter = from + random() * (to - from);
      run.killAfterMs.push(killAfter);
      // Not a wait for anything: the kill's random moment.
      await delay(killAfter);
      const exited = once(child.process, 'exit');
      child.process.kill('SIGKILL');
      await exited;
      stopped = true;
      await load;
      run.problems.push(...loadProblems.map((problem) => `cycle ${cycle}: ${problem}`));
    }
  } finally {
    child?.process.kill('SIGKILL');
    await Promise.all([sim?.close(), cli?.remove(), database?.dispose()]);
  }
  return run;
}

/** How many content tokens the simulator had sent for the latest request answering `question`. */
function upstreamTokens(sim: OllamaSimulator): (question: string) => number | undefined {
  const chats = sim.requests.filter((request) => request.path === '/api/chat');
  return (question) => {
    for (let index = chats.length - 1; index >= 0; index--) {
      const body = chats[index]?.body as { messages?: Array<{ content: string }> } | undefined;
      const messages = body?.messages ?? [];
      if (messages.at(-1)?.content !== question) continue;
      const lines = (sim.sent[index]?.toString('utf8') ?? '').split('\n');
      return lines.filter((line) => /"content":"t\d+ "/.test(line)).length;
    }
    return undefined;
  };
}
