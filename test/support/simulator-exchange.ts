// One /api/chat response: owns write-mode framing, header timing and client-disconnect detection, so the
// generation script in simulator-chat.ts can stay a plain sequence of awaits.
import type { ServerResponse } from 'node:http';
import { type ExchangeHooks, ExchangeLifecycle } from './exchange-lifecycle.js';
import type { SimBehaviour } from './ollama-simulator.js';
import { splitPoints } from './simulator-wire.js';

export type WriteMode = NonNullable<SimBehaviour['writeMode']>;

const NDJSON_HEADERS = { 'Content-Type': 'application/x-ndjson' };
export const JSON_TYPE = 'application/json; charset=utf-8';
// A typical proxy buffer size (nginx proxy_buffer_size is 4-8 KiB per buffer, several buffers per response).
const HELD_BLOCK_BYTES = 16 * 1024;

export class ChatExchange extends ExchangeLifecycle {
  constructor(
    res: ServerResponse,
    private readonly writeMode: WriteMode,
    hooks: ExchangeHooks,
  ) {
    super(res, hooks, NDJSON_HEADERS);
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
    if (this.writeMode === 'coalesced' || this.writeMode === 'held') return this.holdLine(bytes);
    if (this.writeMode !== 'split') return this.write(bytes);
    await this.writeInThree(bytes, splitPoints(bytes));
  }

  private async holdLine(bytes: Buffer): Promise<void> {
    // A buffering proxy forwards the upstream headers as soon as they arrive, but not the body.
    if (this.writeMode === 'held' && !this.res.headersSent && !this.closed) this.sendHeadersNow();
    this.hold(bytes);
    while (this.writeMode === 'held' && this.heldBytes >= HELD_BLOCK_BYTES && !this.closed) {
      const all = Buffer.concat(this.held);
      this.held = [all.subarray(HELD_BLOCK_BYTES)];
      this.heldBytes = all.length - HELD_BLOCK_BYTES;
      await this.write(all.subarray(0, HELD_BLOCK_BYTES));
    }
  }
}
