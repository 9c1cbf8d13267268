/**
 * The one NDJSON reader. It splits on bytes, not characters: `\n` never occurs inside a multibyte UTF-8
 * sequence, so a character split across reads is reassembled with its line, and each line keeps the exact
 * bytes that arrived (relays forward them unchanged).
 */
export type NdjsonLine = NdjsonValue | NdjsonFailure;

export interface NdjsonValue {
  /** The line including its `\n` (absent only for a final line the stream ended without terminating). */
  bytes: Buffer;
  value: unknown;
  error?: undefined;
}

/** A bad line is a value, so the lines before it in the same read are still delivered. Nothing follows it. */
export interface NdjsonFailure {
  error: NdjsonError;
}

export class NdjsonError extends Error {
  override readonly name = 'NdjsonError';
}

const NEWLINE = 0x0a;

export class NdjsonDecoder {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(private readonly maxLineBytes: number) {}

  private failed = false;

  /**
   * Returns the complete lines in `data`, in order, and keeps a trailing partial line for the next call.
   * A bad line ends the list with an `NdjsonFailure`; after that the decoder returns nothing.
   */
  push(data: Buffer): NdjsonLine[] {
    if (this.failed) return [];
    const lines: NdjsonLine[] = [];
    try {
      this.split(data, lines);
    } catch (error) {
      if (!(error instanceof NdjsonError)) throw error;
      this.failed = true;
      this.pending = [];
      this.pendingLength = 0;
      lines.push({ error });
    }
    return lines;
  }

  private split(data: Buffer, lines: NdjsonLine[]): void {
    let start = 0;
    let newline = data.indexOf(NEWLINE, start);
    while (newline !== -1) {
      const end = newline + 1;
      let bytes = data.subarray(start, end);
      if (this.pendingLength > 0) {
        this.checkLength(this.pendingLength + bytes.length - 1);
        bytes = Buffer.concat([...this.pending, bytes], this.pendingLength + bytes.length);
        this.pending = [];
        this.pendingLength = 0;
      } else {
        this.checkLength(bytes.length - 1);
      }
      const line = decodeLine(bytes);
      if (line) lines.push(line);
      start = end;
      newline = data.indexOf(NEWLINE, start);
    }
    if (start < data.length) {
      const rest = data.subarray(start);
      this.checkLength(this.pendingLength + rest.length);
      this.pending.push(rest);
      this.pendingLength += rest.length;
    }
  }

  /** The stream ended: an unterminated last line is still a line (Ollama always terminates, others may not). */
  end(): NdjsonLine | undefined {
    if (this.failed || this.pendingLength === 0) return undefined;
    const bytes = Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    try {
      return decodeLine(bytes);
    } catch (error) {
      return { error: error as NdjsonError };
    }
  }

  private checkLength(length: number): void {
    if (length > this.maxLineBytes) {
      throw new NdjsonError(`upstream sent a line longer than the ${this.maxLineBytes}-byte line limit`);
    }
  }
}

function decodeLine(bytes: Buffer): NdjsonLine | undefined {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return { bytes, value: JSON.parse(text) };
  } catch {
    const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text.trimEnd();
    throw new NdjsonError(`upstream sent a line that is not JSON: ${JSON.stringify(preview)}`);
  }
}

/** The one NDJSON writer. */
export function encodeNdjson(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
