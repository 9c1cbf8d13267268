// One /api/chat response: owns write-mode framing, header timing and client-disconnect detection, so the
// generation script in simulator-chat.ts can stay a plain sequence of awaits.
import type { ServerResponse } from 'node:http';
import { type ExchangeHooks, ExchangeLifecycle } from './exchange-lifecycle.js';
import type { SimBehaviour } from './ollama-simulator.js';
import { splitPoints } from './simulator-wire.js';

export type WriteMode = NonNullable<SimBehaviour['writeMode']>;

const NDJSON_HEADERS = { 'Content-Type': 'application/x-ndjson' };
export const JSON_TYPE = 'application/json; charset=utf-8';
const SPLIT_GAP_MS = 5;
// A typical proxy buffer size (nginx proxy_buffer_size is 4-8 KiB per buffer, several buffers per response).
const HELD_BLOCK_BYTES = 16 * 1024;

export class ChatExchange extends ExchangeLifecycle {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    res: ServerResponse,
    private readonly writeMode: WriteMode,
    hooks: ExchangeHooks,
  ) {
    super(res, hooks);
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  sendHeadersNow(): void {
    this.res.writeHead(200, NDJSON_HEADERS);
    this.res.flushHeaders();
  }

  /** Writes one NDJSON line (including its '\n') according to the write mode. */
  async writeLine(line: string): Promise<void> {
    const bytes = Buffer.from(line, 'utf8');
    if (this.writeMode === 'coalesced' || this.writeMode === 'held') return this.hold(bytes);
    if (this.writeMode !== 'split') return this.write(bytes);
    const [a, b] = splitPoints(bytes);
    await this.write(bytes.subarray(0, a));
    await this.delay(SPLIT_GAP_MS);
    await this.write(bytes.subarray(a, b));
    await this.delay(SPLIT_GAP_MS);
    await this.write(bytes.subarray(b));
  }

  private async hold(bytes: Buffer): Promise<void> {
    // A buffering proxy forwards the upstream headers as soon as they arrive, but not the body.
    if (this.writeMode === 'held' && !this.res.headersSent && !this.closed) this.sendHeadersNow();
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    while (this.writeMode === 'held' && this.heldBytes >= HELD_BLOCK_BYTES && !this.closed) {
      const all = Buffer.concat(this.held);
      this.held = [all.subarray(HELD_BLOCK_BYTES)];
      this.heldBytes = all.length - HELD_BLOCK_BYTES;
      await this.write(all.subarray(0, HELD_BLOCK_BYTES));
    }
  }

  private async flush(): Promise<void> {
    if (this.heldBytes === 0) return;
    const all = Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    await this.write(all);
  }

  // Waiting for the write callback keeps ordering with a later destroy(): http responses cork the socket until
  // the next tick, so an immediate destroy would drop bytes the test expects the client to have received.
  private write(bytes: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.res.headersSent) this.res.writeHead(200, NDJSON_HEADERS);
    this.hooks.onBytes(bytes);
    const written = new Promise<void>((resolve) => this.res.write(bytes, () => resolve()));
    return Promise.race([written, this.untilClosed()]);
  }

  /** Ends the body cleanly (chunked terminator) after flushing anything held. */
  async end(): Promise<void> {
    await this.flush();
    if (this.closed) return;
    this.finished = true;
    if (!this.res.headersSent) this.res.writeHead(200, NDJSON_HEADERS);
    this.res.end();
    this.settle();
  }

  /** Drops the connection mid-response, like a crashed server or a proxy reset. */
  async destroy(): Promise<void> {
    await this.flush();
    if (this.closed) return;
    this.finished = true;
    this.res.destroy();
    this.settle();
  }

  /** A complete non-streamed response (Go's c.JSON sets Content-Length for small bodies). */
  send(status: number, contentType: string, body: string): void {
    if (this.closed) return;
    const bytes = Buffer.from(body, 'utf8');
    this.finished = true;
    this.res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length });
    this.hooks.onBytes(bytes);
    this.res.end(bytes);
    this.settle();
  }
}
