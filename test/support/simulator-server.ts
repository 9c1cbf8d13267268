import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RecordedRequest, SimAbort } from './ollama-simulator.js';

/** Items not yet taken are kept, so a test can ask for "the next one" after it already happened. */
export class Mailbox<T> {
  private items: T[] = [];
  private waiters: Array<(item: T) => void> = [];
  put(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }
  take(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  clear(): void {
    this.items = [];
  }
}

/**
 * What every protocol simulator shares: a loopback server, the recorded requests, aborts and sent bytes,
 * the behaviour tests set, and a close that does not wait for clients. Each protocol answers in `handle`.
 */
export abstract class SimulatorServer<B extends object> {
  url = '';
  port = 0;
  models: string[];
  requests: RecordedRequest[] = [];
  aborts: SimAbort[] = [];
  sent: Buffer[] = [];
  protected behaviour = {} as B;
  protected readonly abortBox = new Mailbox<SimAbort>();
  protected readonly requestBox = new Mailbox<RecordedRequest>();
  protected active = 0;
  // Responses still in flight from before a reset() must not write into the fresh arrays.
  protected epoch = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`simulator bug: ${String(err)}`);
    });
  });

  constructor(models: string[]) {
    this.models = [...models];
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        this.url = `http://127.0.0.1:${this.port}`;
        resolve(this);
      });
    });
  }

  behave(b: B): void {
    this.behaviour = { ...b };
  }

  reset(): void {
    this.behaviour = {} as B;
    this.epoch++;
    this.requests.length = 0;
    this.aborts.length = 0;
    this.sent.length = 0;
    this.abortBox.clear();
    this.requestBox.clear();
  }

  nextAbort(): Promise<SimAbort> {
    return this.abortBox.take();
  }

  nextRequest(): Promise<RecordedRequest> {
    return this.requestBox.take();
  }

  activeStreams(): number {
    return this.active;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}
