import { spawn } from 'node:child_process';
import { CLI, clientEnv, root } from './child-gateway.js';

export interface PtyRun {
  /** Types into the terminal: `\r` is Enter, `\x03` Ctrl-C, `\x04` Ctrl-D. */
  type(keys: string): void;
  /**
   * Resolves once the output after the previous match contains `pattern`, with that stretch of output, and
   * moves past it. Output is compared without escape sequences and carriage returns. Rejects, with the output
   * so far, if the program exits or nothing matches within 20 s.
   */
  expect(pattern: string | RegExp): Promise<string>;
  /** Everything printed so far, escape sequences removed. */
  output(): string;
  /** Everything printed so far, as the terminal got it. */
  raw(): string;
  /** The program's exit code. */
  exit: Promise<number | null>;
  kill(): void;
}

const WAIT_LIMIT_MS = 20_000;
// CSI sequences (cursor moves, erasing, colours).
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

export function clean(text: string): string {
  return text.replace(ESCAPES, '').replaceAll('\r', '');
}

/**
 * `chatwire <args>` with a real terminal: util-linux `script` gives it a pseudo-terminal for stdin, stdout and
 * stderr, and relays what the test writes to its own stdin (a pipe) as keystrokes. `shellCommand` can wrap
 * the command, e.g. to redirect one of its streams.
 */
export function startInPty(
  args: string[],
  options: { env?: Record<string, string>; shellCommand?: (command: string) => string } = {},
): PtyRun {
  const command = ['exec', process.execPath, ...CLI, ...args].map(quote).join(' ');
  const env = clientEnv({ SHELL: '/bin/sh', ...options.env });
  const child = spawn(
    'script',
    ['-qfec', options.shellCommand ? options.shellCommand(command) : command, '/dev/null'],
    { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let raw = '';
  let cursor = 0;
  let exited = false;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    changed();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    changed();
  });
  const exit = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      exited = true;
      changed();
      resolve(code);
    }),
  );

  return {
    type: (keys) => child.stdin.write(keys),
    expect: (pattern) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const rest = clean(raw).slice(cursor);
          const match = typeof pattern === 'string' ? locate(rest, pattern) : pattern.exec(rest);
          if (match) {
            done();
            const end = match.index + match[0].length;
            cursor += end;
            resolve(rest.slice(0, end));
          } else if (exited) {
            done();
            reject(new Error(`exited before printing ${pattern}; output after the last match:\n${rest}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `no ${pattern} within ${WAIT_LIMIT_MS} ms; output after the last match:\n${clean(raw).slice(cursor)}`,
            ),
          );
        }, WAIT_LIMIT_MS);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    output: () => clean(raw),
    raw: () => raw,
    exit,
    kill: () => child.kill('SIGKILL'),
  };
}

function locate(text: string, literal: string): { index: number; 0: string } | undefined {
  const index = text.indexOf(literal);
  return index === -1 ? undefined : { index, 0: literal };
}

function quote(word: string): string {
  return /^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
