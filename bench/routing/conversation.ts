import type { SimRequest } from './request.js';
import { ROLE_TOKEN, type SessionTrace, type TraceMessage } from './trace.js';

/** Append-only token buffer: earlier views stay valid, since nothing before the end is ever rewritten. */
class TokenLog {
  private buffer = new Int32Array(4096);
  length = 0;

  append(message: TraceMessage): void {
    const needed = this.length + message.tokens.length + 1;
    if (needed > this.buffer.length) {
      const grown = new Int32Array(Math.max(needed, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer[this.length++] = ROLE_TOKEN[message.role];
    this.buffer.set(message.tokens, this.length);
    this.length += message.tokens.length;
  }

  view(): Int32Array {
    return this.buffer.subarray(0, this.length);
  }
}

let nextRequestId = 1;

/** A session being replayed: the conversation so far and the call it makes next. */
export class Conversation {
  private readonly messages: TraceMessage[] = [];
  private readonly log = new TokenLog();
  next = 0;

  constructor(readonly trace: SessionTrace) {
    for (const message of trace.initial) this.add(message);
  }

  get done(): boolean {
    return this.next >= this.trace.calls.length;
  }

  /** The session's next call, sent at `now`; its reply joins the conversation the client will send next. */
  request(now: number): SimRequest {
    const call = this.trace.calls[this.next] as (typeof this.trace.calls)[number];
    for (const message of call.append) this.add(message);
    const messages = this.messages.slice();
    const prompt = this.log.view();
    this.add(call.reply);
    const request: SimRequest = {
      id: nextRequestId++,
      sessionId: this.trace.id,
      call: this.next,
      model: this.trace.model,
      messages,
      reply: call.reply,
      prompt,
      full: this.log.view(),
      arrivalMs: now,
      host: -1,
      startMs: 0,
      firstTokenMs: 0,
      endMs: 0,
      cachedTokens: 0,
      evaluatedTokens: 0,
      coldLoad: false,
      loadedWhenRouted: false,
    };
    this.next++;
    return request;
  }

  /** Delay before the call after the one just ended. */
  get nextDelayMs(): number {
    return this.trace.calls[this.next]?.delayMs ?? 0;
  }

  private add(message: TraceMessage): void {
    this.messages.push(message);
    this.log.append(message);
  }
}
