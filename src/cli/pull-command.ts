import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { PullError, type PullProgress, type PullResult, pullModel } from '../upstream/embedded/pull-model.js';
import { CliExit, runCommand } from './cli-support.js';

/** `chatwire pull [model]`: download a GGUF model for the embedded engine. */
export function registerPullCommand(program: Command): void {
  program
    .command('pull')
    .description('download a model for the embedded engine (into CHATWIRE_MODELS_DIR)')
    .argument(
      '[model]',
      'hf:owner/repo:QUANT, hf:owner/repo/file.gguf or an http(s) URL (default: CHATWIRE_MODEL_FILE)',
    )
    .option('--models-dir <dir>', 'where models are kept (CHATWIRE_MODELS_DIR)')
    .action(async (model: string | undefined, options: { modelsDir?: string }) => {
      await runCommand(async () => {
        let config: Config;
        try {
          const flags = options.modelsDir === undefined ? {} : { CHATWIRE_MODELS_DIR: options.modelsDir };
          config = loadConfig({ ...process.env, ...flags });
        } catch (error) {
          if (error instanceof ConfigError) throw new CliExit(error.message, 2);
          throw error;
        }
        const result = await pullWithProgress(config, model ?? config.embedded.modelReference);
        process.stdout.write(`${result.path}\n`);
        return 0;
      });
    });
}

/** Pulls with a progress bar on stderr; a failure is a CliExit with the pull's own explanation. */
export async function pullWithProgress(config: Config, reference: string): Promise<PullResult> {
  const progress = progressReporter(process.stderr);
  try {
    const result = await pullModel({
      reference,
      modelsDir: config.embedded.modelsDir,
      hfEndpoint: config.embedded.hfEndpoint,
      connectTimeoutMs: config.timeouts.connectMs,
      onProgress: progress.update,
    });
    progress.end();
    process.stderr.write(
      result.cached
        ? `${reference} is already here (${formatBytes(result.bytes)})\n`
        : `pulled ${reference} (${formatBytes(result.bytes)})\n`,
    );
    return result;
  } catch (error) {
    progress.end();
    if (error instanceof PullError) throw new CliExit(error.message, 1);
    throw error;
  }
}

/**
 * A bar redrawn in place on a terminal (at most ten times a second); elsewhere, such as a CI log, one plain
 * line per tenth of the file.
 */
export function progressReporter(stream: NodeJS.WriteStream): {
  update: (progress: PullProgress) => void;
  end: () => void;
} {
  const interactive = stream.isTTY === true;
  let lastDraw = 0;
  let lastStep = -1;
  let drawn = false;
  return {
    update(progress) {
      const now = performance.now();
      const complete = progress.totalBytes !== undefined && progress.receivedBytes >= progress.totalBytes;
      if (interactive) {
        if (now - lastDraw < 100 && !complete) return;
        lastDraw = now;
        drawn = true;
        stream.write(`\r\x1b[K${describeProgress(progress, stream.columns ?? 80)}`);
        return;
      }
      const step =
        progress.totalBytes === undefined
          ? Math.floor(progress.elapsedMs / 10_000)
          : Math.floor((progress.receivedBytes / progress.totalBytes) * 10);
      if (step === lastStep) return;
      lastStep = step;
      stream.write(`${describeProgress(progress, 0)}\n`);
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** `45% [#########-----------] 180.2 MB / 398.0 MB · 12.3 MB/s · ETA 18s`; the bar only when `width` allows. */
export function describeProgress(progress: PullProgress, width: number): string {
  const seconds = progress.elapsedMs / 1000;
  const speed = seconds > 0 ? (progress.receivedBytes - progress.resumedFromBytes) / seconds : 0;
  const parts: string[] = [];
  const { totalBytes: total, receivedBytes: received } = progress;
  if (total !== undefined && total > 0) {
    const fraction = Math.min(1, received / total);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const cells = 20;
    const bar = width >= 80 ? ` [${'#'.repeat(Math.round(fraction * cells)).padEnd(cells, '-')}]` : '';
    parts.push(`${percent}${bar} ${formatBytes(received)} / ${formatBytes(total)}`);
  } else {
    parts.push(formatBytes(received));
  }
  parts.push(`${formatBytes(speed)}/s`);
  if (total !== undefined && speed > 0 && received < total) {
    parts.push(`ETA ${formatDuration((total - received) / speed)}`);
  }
  return parts.join(' · ');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(seconds: number): string {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
