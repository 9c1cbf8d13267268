const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  /** Erases the spinner; safe to call more than once. */
  stop(): void;
}

/** A spinner on stderr while waiting for the first token, only when stderr is a terminal (never in a pipe). */
export function startSpinner(stream: NodeJS.WriteStream = process.stderr): Spinner | undefined {
  if (!stream.isTTY) return undefined;
  let frame = 0;
  const draw = () => stream.write(`\r${FRAMES[frame++ % FRAMES.length]} waiting…`);
  draw();
  const timer = setInterval(draw, 80);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}
