// The soak's three upstream hosts, in a process of their own so that the clients' work cannot delay theirs
// (on a busy machine a delayed health probe gets a healthy host ejected). Each request's user message says
// what to do; the parent hears of every attempt's end and asks for restarts over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type OllamaSimulator, startOllamaSimulator } from '../test/support/ollama-simulator.js';
import { behaviourFor, planFromContent, streamIdOf } from './plan.js';

export type ToHosts = { restart: number; downMs: number } | { stop: true };
export type FromHosts =
  | { ready: string[] }
  | { end: { id: number; host: string; aborted: boolean; bytesSent: number; at: number } }
  | { started: number }
  | { restarted: number; phase: 'closed' | 'open' }
  | { lagMs: number };

const send = (message: FromHosts) => process.send?.(message);

function lastContent(body: unknown): string {
  const messages = (body as { messages?: Array<{ content?: unknown }> } | undefined)?.messages ?? [];
  return String(messages[messages.length - 1]?.content ?? '');
}

const sims: OllamaSimulator[] = await Promise.all([0, 1, 2].map(() => startOllamaSimulator()));
const attempts = new Map<number, number>();
for (const sim of sims) {
  const host = `127.0.0.1:${sim.port}`;
  sim.behaveFor({
    record: false,
    choose(request) {
      const plan = planFromContent(lastContent(request.body));
      if (!plan) return {};
      const attempt = (attempts.get(plan.id) ?? 0) + 1;
      attempts.set(plan.id, attempt);
      send({ started: plan.id });
      return behaviourFor(plan, attempt);
    },
    onEnd(request, end) {
      const id = streamIdOf(lastContent(request.body));
      if (id === undefined) return;
      // Wall-clock time: the parent compares it with when its client left.
      send({
        end: {
          id,
          host,
          aborted: end.abort !== undefined,
          bytesSent: end.bytesSent,
          at: Date.now(),
        },
      });
    },
  });
}

process.on('message', async (message: ToHosts) => {
  if ('stop' in message) {
    await Promise.all(sims.map((sim) => sim.close().catch(() => {})));
    process.disconnect();
    return;
  }
  const sim = sims[message.restart] as OllamaSimulator;
  await sim.close();
  send({ restarted: message.restart, phase: 'closed' });
  await new Promise((resolve) => setTimeout(resolve, message.downMs));
  await sim.reopen();
  send({ restarted: message.restart, phase: 'open' });
});
// The parent going away (a crash, Ctrl-C) must not leave the hosts running.
process.on('disconnect', () => process.exit(0));
// How late this process runs its timers: a late simulator looks like a stalled host to the gateway.
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
setInterval(() => {
  send({ lagMs: lag.max / 1e6 });
  lag.reset();
}, 1000).unref();
send({ ready: sims.map((sim) => sim.url) });
