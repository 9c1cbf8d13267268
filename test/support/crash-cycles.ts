import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { type BundledCli, bundleCli } from './bundled-cli.js';
import { type Child, launchChild } from './child-gateway.js';
import { type CrashDatabase, openCrashDatabase } from './crash-database.js';
import { type CrashFigures, CrashLedger, REPLY_TOKENS } from './crash-ledger.js';
import { driveLoad, seededRandom } from './crash-load.js';
import type { StoreBackend } from './databases.js';
import { type OllamaSimulator, startOllamaSimulator } from './ollama-simulator.js';

export interface CrashRunOptions {
  cycles: number;
  seed: number;
  /** The kill lands after this many events of the load, uniformly at random between the two. */
  killAfterEvents: [number, number];
  workers: number;
}

export interface CrashRun {
  figures: CrashFigures;
  integrityCoverage: string;
  /** Problems found, each prefixed with its cycle; empty when every check passed. */
  problems: string[];
  /** Milliseconds from a restart (a held child told to go, its packages loaded) to listening. */
  startMs: number[];
  killAfterEvents: number[];
}

/** Tokens 2 ms apart: a long reply takes a quarter of a second on an idle machine, several on a busy one. */
const TOKEN_DELAY_MS = 2;
const SHORT_REPLY_TOKENS = 12;

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
    killAfterEvents: [],
  };
  let sim: OllamaSimulator | undefined;
  let cli: BundledCli | undefined;
  let database: CrashDatabase | undefined;
  let child: Child | undefined;
  let held: ChildProcess | undefined;
  try {
    [sim, cli, database] = await Promise.all([
      startOllamaSimulator(),
      bundleCli('crash-gateway'),
      openCrashDatabase(backend),
    ]);
    run.integrityCoverage = database.integrityCoverage;
    const env = { OLLAMA_HOST: sim.url, ...database.env };
    const launch = () => {
      const launched = launchChild(env, { cli: (cli as BundledCli).heldArgs, stdin: 'pipe' });
      spawned.add(launched.process);
      launched.process.once('exit', () => spawned.delete(launched.process));
      return launched;
    };
    let next = launch();
    for (let cycle = 0; cycle <= options.cycles; cycle++) {
      const startedAt = performance.now();
      next.process.stdin?.write('go\n');
      child = await next.listening;
      run.startMs.push(performance.now() - startedAt);
      // The next one loads its packages meanwhile, and waits.
      if (cycle < options.cycles) {
        next = launch();
        held = next.process;
      }
      const found = [
        ...(await database.integrity()),
        ...ledger.verify(await database.snapshot(), upstreamTokens(sim)),
      ];
      run.problems.push(...found.map((problem) => `cycle ${cycle}: ${problem}`));
      if (found.length > 0 || cycle === options.cycles) break;
      if (cycle > 0 && cycle % 10 === 0)
        console.info(`${backend.name}: ${cycle} kills checked, nothing lost`);

      sim.reset();
      // A third of the cycles have short replies, which finish before the kill, the others long ones,
      // which a kill finds running past their first saves; a short reply is a prefix of a long one.
      const tokens = REPLY_TOKENS.slice(0, random() < 1 / 3 ? SHORT_REPLY_TOKENS : REPLY_TOKENS.length);
      ledger.reply = tokens.join('');
      sim.behave({ tokens, tokenDelayMs: TOKEN_DELAY_MS });
      // The kill lands after a random number of events (acknowledgements, and reply tokens received):
      // wherever the load is, however fast or slow the machine runs it.
      const [from, to] = options.killAfterEvents;
      const killAt = from + Math.floor(random() * (to - from + 1));
      run.killAfterEvents.push(killAt);
      const exited = once(child.process, 'exit');
      const victim = child.process;
      let events = 0;
      let stopped = false;
      const event = () => {
        if (++events < killAt || stopped) return;
        stopped = true;
        victim.kill('SIGKILL');
      };
      ledger.onAcknowledged = event;
      const loadProblems: string[] = [];
      const load = driveLoad({
        url: child.url,
        ledger,
        random,
        cycle,
        workers: options.workers,
        stopped: () => stopped,
        onToken: event,
        problems: loadProblems,
      });
      await exited;
      await load;
      ledger.onAcknowledged = undefined;
      run.problems.push(...loadProblems.map((problem) => `cycle ${cycle}: ${problem}`));
    }
  } finally {
    child?.process.kill('SIGKILL');
    held?.kill('SIGKILL');
    await Promise.all([sim?.close(), cli?.remove(), database?.dispose()]);
  }
  return run;
}

const spawned = new Set<ChildProcess>();

/** Kills every chatwire a run started and has not seen exit: for a test that timed out mid-run. */
export function killCrashChildren(): void {
  for (const child of spawned) child.kill('SIGKILL');
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
