import { createInterface, type Interface } from 'node:readline/promises';

export type PromptRead =
  | { kind: 'line'; text: string }
  /** Ctrl-C at the prompt; the line being typed is discarded. */
  | { kind: 'interrupt'; discardedText: boolean }
  /** Ctrl-D on an empty line, or the end of input. */
  | { kind: 'end' };

/**
 * The prompt, on node:readline. Ctrl-C is routed by whether a prompt is showing: at the prompt it ends the
 * read with `interrupt`; otherwise (a reply is streaming) it calls `onBusyInterrupt`.
 */
export class PromptReader {
  /** Called for Ctrl-C while no prompt is showing. */
  onBusyInterrupt: () => void = () => {};
  private readonly readline: Interface;
  // question() drops lines that arrive while it is not waiting: the rest of a pasted block, or what was typed
  // during a reply. They are kept here and read in order.
  private readonly typedAhead: string[] = [];
  private asking: { controller: AbortController; discardedText: boolean } | undefined;
  private ended = false;

  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream) {
    this.readline = createInterface({ input, output, historySize: 200, removeHistoryDuplicates: true });
    this.readline.on('line', (line) => this.typedAhead.push(line));
    this.readline.on('SIGINT', () => this.interrupt());
    this.readline.on('close', () => {
      this.ended = true;
    });
  }

  /** Ctrl-C, from the terminal (raw mode hands it to readline) or as a signal. */
  interrupt(): void {
    if (!this.asking) {
      this.onBusyInterrupt();
      return;
    }
    this.asking.discardedText = this.readline.line !== '';
    this.asking.controller.abort();
  }

  async read(prompt: string): Promise<PromptRead> {
    const ahead = this.typedAhead.shift();
    if (ahead !== undefined) return { kind: 'line', text: ahead };
    if (this.ended) return { kind: 'end' };
    const asking = { controller: new AbortController(), discardedText: false };
    this.asking = asking;
    try {
      return {
        kind: 'line',
        text: await this.readline.question(prompt, { signal: asking.controller.signal }),
      };
    } catch (error) {
      if (this.ended) return { kind: 'end' };
      if (asking.controller.signal.aborted) return { kind: 'interrupt', discardedText: asking.discardedText };
      throw error;
    } finally {
      this.asking = undefined;
    }
  }

  close(): void {
    this.readline.close();
  }
}
