// Starts the built gateway (`node dist/cli/main.js serve`) as a user would after `npm install`, waits until
// it says where it listens, asks /health, stops it with SIGTERM and requires exit code 0. Plain JavaScript,
// so that it runs on an install without dev tools (`npm install --omit=optional` drops their binaries too).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dataDir = mkdtempSync(join(tmpdir(), 'chatwire-smoke-'));
const child = spawn(process.execPath, ['dist/cli/main.js', 'serve'], {
  env: { ...process.env, CHATWIRE_PORT: '0', CHATWIRE_DATA_DIR: dataDir, OLLAMA_HOST: 'http://127.0.0.1:1' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const deadline = setTimeout(() => fail('no "listening on" line within 30 s'), 30_000);
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

function fail(message) {
  console.error(`serve-smoke: ${message}`);
  child.kill('SIGKILL');
  process.exit(1);
}

for await (const line of createInterface({ input: child.stdout })) {
  const entry = JSON.parse(line);
  if (!String(entry.msg).startsWith('listening on')) continue;
  clearTimeout(deadline);
  const health = await fetch(`${entry.address}/health`);
  if (health.status !== 200) fail(`/health answered ${health.status}`);
  child.kill('SIGTERM');
  break;
}
const { code, signal } = await exited;
rmSync(dataDir, { recursive: true, force: true });
if (code !== 0) fail(`exited with ${code ?? signal} after SIGTERM`);
console.log(`serve-smoke: node ${process.version}: started, /health 200, SIGTERM exit 0`);
