// `chatwire chat "prompt"` with a terminal: what it shows only there (spinner, the closing newline), and that
// stdout still gets exactly the reply when only stderr is a terminal.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { startInPty } from '../support/pty-cli.js';
import { type RunningGateway, startGateway } from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  chatwire = await startGateway(sim.url);
});
afterAll(async () => {
  await chatwire?.close();
  await sim?.close();
});
beforeEach(() => sim.reset());

const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting…/g;
const SUMMARY = /\d+ tokens · [\d.-]+ tokens\/s · first token \d+ ms · [\d.]+ s/;

describe('chatwire chat "prompt" on a terminal', { timeout: 30_000 }, () => {
  it('spins on stderr until the first token, erases the spinner, ends the reply with a newline', async () => {
    // The first token is held long enough for the spinner to turn at least once.
    sim.behave({ tokens: ['Hello', ' world'], promptEvalDelayMs: 400 });
    const run = startInPty(['chat', 'hi', '--url', chatwire.url]);
    expect(await run.exit).toBe(0);
    const raw = run.raw();
    const frames = new Set(raw.match(SPINNER_FRAME));
    expect(frames.size).toBeGreaterThanOrEqual(2);
    // Erased (carriage return, clear to end of line) right before the reply, then the newline, then the summary.
    expect(raw).toContain('waiting…\r\x1b[KHello world\r\n');
    expect(raw.slice(raw.indexOf('Hello world\r\n') + 13)).toMatch(new RegExp(`^${SUMMARY.source}`));
    expect(run.output().trimEnd().split('\n').at(-1)).toMatch(SUMMARY);
  });

  it('writes exactly the reply to stdout when only stderr is a terminal', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'chatwire-tty-')), 'reply.txt');
    sim.behave({ tokens: ['Hello', ' world'] });
    const run = startInPty(['chat', 'hi', '--url', chatwire.url], {
      shellCommand: (command) => `${command} > '${file}'`,
    });
    expect(await run.exit).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('Hello world');
    expect(run.raw()).toMatch(SPINNER_FRAME);
    expect(run.output()).toMatch(SUMMARY);
    expect(run.output()).not.toContain('Hello world');
  });
});
