/** What one more line of input makes. */
export type AssembledInput =
  | { kind: 'more' }
  | { kind: 'empty' }
  | { kind: 'command'; name: string; argument: string }
  | { kind: 'message'; text: string };

const FENCE = '"""';
const MORE: AssembledInput = { kind: 'more' };

/**
 * Turns the lines typed at the prompt into messages and commands, the way `ollama run` reads them: a line
 * starting with `"""` opens a block that the next line ending with `"""` closes, and a line ending with a
 * backslash continues on the next line. The message keeps the line breaks. Commands (`/name argument`) are
 * read only from a line typed at the main prompt, so a block can start with a slash.
 */
export class InputAssembler {
  private open: 'block' | 'continuation' | undefined;
  private lines: string[] = [];

  /** `>>> ` for a new message, `... ` while a block or continuation is open. */
  get prompt(): string {
    return this.open === undefined ? '>>> ' : '... ';
  }

  get pending(): boolean {
    return this.open !== undefined;
  }

  /** Drops a half-typed block or continuation (Ctrl-C). */
  reset(): void {
    this.open = undefined;
    this.lines = [];
  }

  push(line: string): AssembledInput {
    if (this.open === 'block') return this.pushBlockLine(line);
    if (this.open === 'continuation') return this.pushContinuedLine(line);

    const trimmed = line.trim();
    if (trimmed === '') return { kind: 'empty' };
    if (line.startsWith(FENCE)) {
      const rest = line.slice(FENCE.length);
      if (rest.endsWith(FENCE)) return this.message([rest.slice(0, -FENCE.length)]);
      this.open = 'block';
      // `"""` alone opens the block without an empty first line.
      this.lines = rest.trim() === '' ? [] : [rest];
      return MORE;
    }
    if (trimmed.startsWith('/')) {
      const [name = '', ...words] = trimmed.slice(1).split(/\s+/);
      return { kind: 'command', name: name.toLowerCase(), argument: words.join(' ') };
    }
    if (line.endsWith('\\')) {
      this.open = 'continuation';
      this.lines = [line.slice(0, -1)];
      return MORE;
    }
    return this.message([line]);
  }

  private pushBlockLine(line: string): AssembledInput {
    if (!line.endsWith(FENCE)) {
      this.lines.push(line);
      return MORE;
    }
    const last = line.slice(0, -FENCE.length);
    return this.message(last.trim() === '' ? this.lines : [...this.lines, last]);
  }

  private pushContinuedLine(line: string): AssembledInput {
    if (line.endsWith('\\')) {
      this.lines.push(line.slice(0, -1));
      return MORE;
    }
    return this.message([...this.lines, line]);
  }

  private message(lines: string[]): AssembledInput {
    this.reset();
    const text = lines.join('\n');
    return text.trim() === '' ? { kind: 'empty' } : { kind: 'message', text };
  }
}
