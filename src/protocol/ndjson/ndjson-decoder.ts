/**
 * The one NDJSON reader. It splits on bytes, not characters: `\n` never occurs inside a multibyte UTF-8
 * sequence, so a character split across reads is reassembled with its line, and each line keeps the exact
 * bytes that arrived (relays forward them unchanged).
 *
 * It uses only TypedArray methods and TextDecoder, so the browser client shares it with the server. `B` is the
 * type of the input: a line's `bytes` has the same type (a Buffer in, a Buffer out), because the server writes
 * them straight to a socket.
 */
export type NdjsonLine<B extends Uint8Array = Buffer> = NdjsonValue<B> | NdjsonFailure;

export interface NdjsonValue<B extends Uint8Array = Buffer> {
  /** The line including its `\n` (absent only for a final line the stream ended without terminating). */
  bytes: B;
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

export class NdjsonDecoder<B extends Uint8Array = Buffer> {
  private pending: B[] = [];
  private pendingLength = 0;

  constructor(private readonly maxLineBytes: number) {}

  private failed = false;

  /**
   * Returns the complete lines in `data`, in order, and keeps a trailing partial line for the next call.
   * A bad line ends the list with an `NdjsonFailure`; after that the decoder returns nothing.
   */
  push(data: B): NdjsonLine<B>[] {
    if (this.failed) return [];
    const lines: NdjsonLine<B>[] = [];
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

  private split(data: B, lines: NdjsonLine<B>[]): void {
    let start = 0;
    let newline = data.indexOf(NEWLINE, start);
    while (newline !== -1) {
      const end = newline + 1;
      let bytes = data.subarray(start, end) as B;
      if (this.pendingLength > 0) {
        this.checkLength(this.pendingLength + bytes.length - 1);
        bytes = concatBytes([...this.pending, bytes], this.pendingLength + bytes.length);
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
      const rest = data.subarray(start) as B;
      this.checkLength(this.pendingLength + rest.length);
      this.pending.push(rest);
      this.pendingLength += rest.length;
    }
  }

  /** The stream ended: an unterminated last line is still a line (Ollama always terminates, others may not). */
  end(): NdjsonLine<B> | undefined {
    if (this.failed || this.pendingLength === 0) return undefined;
    const bytes = concatBytes(this.pending, this.pendingLength);
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

/**
 * Joins the pieces of a line into one array of the pieces' own type. TypedArray methods create their results
 * through the species constructor, so allocating through it too turns Buffers into a Buffer (Node's species is
 * its internal FastBuffer, which avoids the deprecated `new Buffer()`) with no Node-only API.
 */
function concatBytes<B extends Uint8Array>(pieces: B[], length: number): B {
  const first = pieces[0] as B;
  if (pieces.length === 1 && first.length === length) return first;
  const species = (first.constructor as { [Symbol.species]?: new (length: number) => B })[Symbol.species];
  const joined = species ? new species(length) : (new Uint8Array(length) as B);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return joined;
}

// ignoreBOM keeps a leading U+FEFF in the text (as Buffer#toString did), so such a line is still rejected.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function decodeLine<B extends Uint8Array>(bytes: B): NdjsonLine<B> | undefined {
  const text = utf8.decode(bytes);
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
