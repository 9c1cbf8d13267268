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

/** Per-request behaviour for long runs (the soak), where each request says what it wants. */
export interface RequestHooks<B> {
  /** This request's behaviour, chosen from the request itself; replaces `behave()` while set. */
  choose(request: RecordedRequest): B;
  /** Once per chat request, when the simulator is done with it: `abort` when its client left first. */
  onEnd?(request: RecordedRequest, end: { abort: SimAbort | undefined; bytesSent: number }): void;
  /** false: keeps no requests, aborts or sent bytes, which a run of hours would otherwise accumulate. */
  record?: boolean;
}

/** What tests control and observe on every protocol simulator. */
export interface SimulatorControls<B> {
  /** 'http://127.0.0.1:PORT' */
  url: string;
  port: number;
  /** Known models (mutable). */
  models: string[];
  /** Replaces the behaviour for requests arriving from now on. */
  behave(b: B): void;
  /** Chooses the behaviour per request (undefined: back to `behave()`). */
  behaveFor(hooks: RequestHooks<B> | undefined): void;
  /** Default behaviour; empties requests, aborts and sent (in place) and drops unconsumed nextX() items. */
  reset(): void;
  /** Every request, in arrival order, recorded once its body has been read. */
  requests: RecordedRequest[];
  /** One per chat request whose client left before the simulator finished it. */
  aborts: SimAbort[];
  /** The oldest abort not yet taken by nextAbort(), else the next one to happen. */
  nextAbort(): Promise<SimAbort>;
  /** Exact body bytes written so far, one Buffer per chat request (in arrival order, error bodies too). */
  sent: Buffer[];
  /** The oldest chat request not yet taken by nextRequest(), else the next one to arrive. */
  nextRequest(): Promise<RecordedRequest>;
  /** Chat responses in progress. */
  activeStreams(): number;
  /** Closes the server and destroys all open sockets. */
  close(): Promise<void>;
  /** Listens again on the same port after `close`. */
  reopen(): Promise<void>;
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
  protected hooks: RequestHooks<B> | undefined;
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

  /** Listens again on the same port after `close`: a host that died and came back. */
  reopen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  behave(b: B): void {
    this.behaviour = { ...b };
  }

  behaveFor(hooks: RequestHooks<B> | undefined): void {
    this.hooks = hooks;
  }

  /** Whether requests, aborts and sent bytes are kept for the test to inspect. */
  protected get recording(): boolean {
    return this.hooks?.record !== false;
  }

  reset(): void {
    this.behaviour = {} as B;
    this.hooks = undefined;
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

  /** The request body as text; undefined when the client left while still sending it. */
  protected async readBody(req: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return undefined;
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Records a request, with its body as the protocol decoded it, in `requests`. */
  protected record(req: IncomingMessage, rawBody: string, body: unknown): RecordedRequest {
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://simulator').pathname,
      target: req.url ?? '/',
      headers: { ...req.headers },
      body,
      rawBody,
      remotePort: req.socket.remotePort,
    };
    if (this.recording) this.requests.push(recorded);
    return recorded;
  }
}
