// One /v1/chat/completions response: owns SSE framing (line ending, keep-alive comments, write mode), header
// timing and client-disconnect detection, so the script in openai-simulator-chat.ts stays a plain sequence of
// awaits. The OpenAI-style counterpart of simulator-exchange.ts.
import type { ServerResponse } from 'node:http';
import { type ExchangeHooks, ExchangeLifecycle } from './exchange-lifecycle.js';
import type { OpenAiSimBehaviour } from './openai-simulator.js';
import { splitPoints } from './simulator-wire.js';

export type SseWriteMode = NonNullable<OpenAiSimBehaviour['writeMode']>;
export type LineEnding = NonNullable<OpenAiSimBehaviour['lineEnding']>;

export interface SseExchangeOptions {
  writeMode: SseWriteMode;
  lineEnding: LineEnding;
  keepAliveComments: boolean;
}

const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };
export const JSON_TYPE = 'application/json';
const PING = ': ping\n\n';

/**
 * Two cut points for writing an event in three pieces. With CRLF one cut goes between the first CR and its LF,
 * the case a reader that looks at one read at a time turns into an extra blank line. The other cut lands inside
 * a multibyte UTF-8 sequence when there is one, which breaks readers that decode each read on its own.
 */
export function sseSplitPoints(event: Buffer, lineEnding: LineEnding): [number, number] {
  if (lineEnding === 'lf') return splitPoints(event);
  const crlf = event.indexOf('\r\n') + 1;
  const multibyte = event.findIndex((byte) => byte >= 0xc0);
  const first = multibyte !== -1 && multibyte + 1 < crlf ? multibyte + 1 : Math.max(1, Math.floor(crlf / 2));
  return [first, crlf];
}

export class SseExchange extends ExchangeLifecycle {
  constructor(
    res: ServerResponse,
    private readonly options: SseExchangeOptions,
    hooks: ExchangeHooks,
  ) {
    super(res, hooks, SSE_HEADERS);
  }

  /** OpenAI-style servers commit to 200 + SSE before generating anything (unlike Ollama, which waits). */
  sendHeadersNow(): void {
    if (this.closed || this.res.headersSent) return;
    this.res.writeHead(200, SSE_HEADERS);
    this.res.flushHeaders();
  }

  /** Writes one event, given with '\n' line ends, in the configured line ending and write mode. */
  async writeEvent(event: string): Promise<void> {
    if (this.options.keepAliveComments) await this.writeFrame(PING);
    await this.writeFrame(event);
  }

  private async writeFrame(frame: string): Promise<void> {
    const { lineEnding, writeMode } = this.options;
    const bytes = Buffer.from(lineEnding === 'crlf' ? frame.replace(/\n/g, '\r\n') : frame, 'utf8');
    if (writeMode === 'coalesced') return this.hold(bytes);
    if (writeMode === 'event') return this.write(bytes);
    await this.writeInThree(bytes, sseSplitPoints(bytes, lineEnding));
  }
}
