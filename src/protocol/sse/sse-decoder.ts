/**
 * The one server-sent-events reader, following the WHATWG HTML "event stream interpretation" rules. Like the
 * NDJSON reader it splits on bytes, not characters: CR and LF never occur inside a multibyte UTF-8 sequence, so
 * only complete lines are decoded and a character split across reads is reassembled with its line.
 */
export type SseItem = SseEvent | SseFailure;

export interface SseEvent {
  /** The `event:` field; absent means the spec's default type, "message". */
  event?: string;
  /** The `data:` lines joined with '\n'. `[DONE]` is data like any other: the consumer decides what ends a stream. */
  data: string;
  /**
   * The last event ID in effect when the event was dispatched, absent while empty. Per the spec it persists
   * across events until an `id:` line changes it, because that is what a reconnecting client would send.
   */
  id?: string;
  error?: undefined;
}

/** A bad event is a value, so the events before it in the same read are still delivered. Nothing follows it. */
export interface SseFailure {
  error: SseError;
}

export class SseError extends Error {
  override readonly name = 'SseError';
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = '\ufeff';

export class SseDecoder {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  // A read that ended in CR: an LF starting the next read is part of the same line end, not a blank line.
  private skipLf = false;
  private atStart = true;
  private finished = false;
  private dataLines: string[] = [];
  private eventType = '';
  private lastEventId = '';
  /** Bytes of the field lines of the event being built; comment lines are not kept, so they do not count. */
  private eventBytes = 0;

  constructor(private readonly maxEventBytes: number) {}

  /**
   * Returns the events completed by `data`, in order, and keeps the partial event for the next call. A bad
   * event ends the list with an `SseFailure`; after that the decoder returns nothing.
   */
  push(data: Buffer): SseItem[] {
    if (this.finished) return [];
    const items: SseItem[] = [];
    try {
      this.split(data, items);
    } catch (error) {
      if (!(error instanceof SseError)) throw error;
      this.finish();
      items.push({ error });
    }
    return items;
  }

  /**
   * The stream ended. The spec discards an event that was not completed by a blank line; it is still discarded,
   * but reported as a failure when it carried data, since a body cut inside an event is a truncated stream.
   */
  end(): SseItem[] {
    if (this.finished) return [];
    if (this.pendingLength > 0) this.line(Buffer.concat(this.pending, this.pendingLength), []);
    const truncated = this.dataLines.length > 0;
    this.finish();
    if (!truncated) return [];
    return [
      { error: new SseError('upstream ended in the middle of an SSE event (no blank line after its data)') },
    ];
  }

  private finish(): void {
    this.finished = true;
    this.pending = [];
    this.pendingLength = 0;
    this.dataLines = [];
  }

  private split(data: Buffer, items: SseItem[]): void {
    let start = 0;
    if (this.skipLf && data.length > 0) {
      this.skipLf = false;
      if (data[0] === LF) start = 1;
    }
    // Both positions are cached: searching again for a byte that does not occur would rescan to the end of the
    // read for every line (an LF-only stream has no CR at all).
    let nextLf = data.indexOf(LF, start);
    let nextCr = data.indexOf(CR, start);
    while (nextLf !== -1 || nextCr !== -1) {
      const end = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
      let line = data.subarray(start, end);
      if (this.pendingLength > 0) {
        this.checkLength(this.pendingLength + line.length);
        line = Buffer.concat([...this.pending, line], this.pendingLength + line.length);
        this.pending = [];
        this.pendingLength = 0;
      } else {
        this.checkLength(line.length);
      }
      start = end + 1;
      if (data[end] === CR) {
        if (start === data.length) this.skipLf = true;
        else if (data[start] === LF) start++;
      }
      this.line(line, items);
      if (nextLf !== -1 && nextLf < start) nextLf = data.indexOf(LF, start);
      if (nextCr !== -1 && nextCr < start) nextCr = data.indexOf(CR, start);
    }
    if (start < data.length) {
      const rest = data.subarray(start);
      this.checkLength(this.pendingLength + rest.length);
      this.pending.push(rest);
      this.pendingLength += rest.length;
    }
  }

  private checkLength(lineLength: number): void {
    if (this.eventBytes + lineLength > this.maxEventBytes) {
      throw new SseError(`upstream sent an SSE event longer than the ${this.maxEventBytes}-byte event limit`);
    }
  }

  private line(bytes: Buffer, items: SseItem[]): void {
    let text = bytes.toString('utf8');
    if (this.atStart) {
      this.atStart = false;
      if (text.startsWith(BOM)) text = text.slice(1);
    }
    if (text === '') {
      this.dispatch(items);
      return;
    }
    if (text.startsWith(':')) return;
    this.eventBytes += bytes.length;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        // The spec ignores an id with NUL so that it can never reach a Last-Event-ID header.
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      // 'retry' only matters to a reconnecting browser; unknown fields are ignored by the spec.
    }
  }

  private dispatch(items: SseItem[]): void {
    const dataLines = this.dataLines;
    const eventType = this.eventType;
    this.dataLines = [];
    this.eventType = '';
    this.eventBytes = 0;
    if (dataLines.length === 0) return;
    const event: SseEvent = { data: dataLines.join('\n') };
    if (eventType) event.event = eventType;
    if (this.lastEventId) event.id = this.lastEventId;
    items.push(event);
  }
}
