// The parent's handle on sim-process.ts: the hosts' URLs, each stream's attempts, restarts, and a stop.
import { type ChildProcess, fork } from 'node:child_process';
import type { FromHosts, ToHosts } from './sim-process.js';

export interface HostAttempt {
  host: string;
  aborted: boolean;
  bytesSent: number;
  /** Date.now() when the host was done with it. */
  at: number;
}

export class SimPool {
  urls: string[] = [];
  /** Attempts that reached a host, per stream id, and those the host is done with. */
  readonly started = new Map<number, number>();
  readonly ends = new Map<number, HostAttempt[]>();
  /** The simulators' worst event-loop delay since the last read. */
  lagMs = 0;
  private restartWaiters = new Map<string, () => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromHosts) => {
      if ('started' in message)
        this.started.set(message.started, (this.started.get(message.started) ?? 0) + 1);
      else if ('end' in message) {
        const { id, ...attempt } = message.end;
        const list = this.ends.get(id) ?? [];
        list.push(attempt);
        this.ends.set(id, list);
      } else if ('lagMs' in message) {
        this.lagMs = Math.max(this.lagMs, message.lagMs);
      } else if ('restarted' in message) {
        this.restartWaiters.get(`${message.restarted}:${message.phase}`)?.();
      }
    });
  }

  static async start(): Promise<SimPool> {
    const child = fork(new URL('./sim-process.ts', import.meta.url).pathname, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pool = new SimPool(child);
    pool.urls = await new Promise<string[]>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the simulator process exited (${code})`)));
      child.on('message', (message: FromHosts) => {
        if ('ready' in message) resolve(message.ready);
      });
    });
    return pool;
  }

  hostName(index: number): string {
    return new URL(this.urls[index] ?? '').host;
  }

  forget(id: number): void {
    this.started.delete(id);
    this.ends.delete(id);
  }

  /** Resolves when the host is closed, with a promise for its reopening. */
  async restart(index: number, downMs: number): Promise<Promise<void>> {
    const phase = (name: string) =>
      new Promise<void>((resolve) => this.restartWaiters.set(`${index}:${name}`, resolve));
    const closed = phase('closed');
    const open = phase('open');
    this.send({ restart: index, downMs });
    await closed;
    return open;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.send({ stop: true });
    await gone;
  }

  private send(message: ToHosts): void {
    this.child.send(message);
  }
}
