// npm run soak [-- --minutes N] [--concurrency N] [--seed N]: the long soak; exits 1 on any violation.
import { parseArgs } from 'node:util';
import { summary, writeResult } from './report.js';
import { runSoak } from './soak.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'restart-every-ms': { type: 'string', default: '60000' },
    'rss-slope-limit': { type: 'string', default: '1' },
    'token-delay-ms': { type: 'string', default: '1000' },
  },
});

const seconds = Math.round(Number(values.minutes) * 60);
if (!(seconds > 0)) throw new Error(`--minutes must be a positive number, not ${values.minutes}`);
const result = await runSoak({
  seconds,
  concurrency: Number(values.concurrency),
  restartEveryMs: Number(values['restart-every-ms']),
  restartDownMs: 2000,
  seed: Number(values.seed),
  // The first fifth (at most 2 minutes) is warm-up: JIT, heap sizing, connection pools filling.
  warmupSeconds: Math.min(120, seconds / 5),
  rssSlopeLimitMiBPerMinute: Number(values['rss-slope-limit']),
  tokenDelayMs: Number(values['token-delay-ms']),
  progress: (line) => console.log(line),
});
console.log(summary(result));
console.log(`figures: ${writeResult(result)}`);
process.exitCode = result.violations.length === 0 ? 0 : 1;
