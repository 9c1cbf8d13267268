// The client commands as users run them: `chatwire chat|models|doctor` in a child process, against a real
// gateway and the Ollama simulator.
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, clientEnv, root } from '../support/child-gateway.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { closedPort, type RunningGateway, startGateway } from '../support/start-gateway.js';

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

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout contains `text`. */
  stdoutHas(text: string): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the CLI; stdin gets `stdin` and is closed (a child never waits on the test's own stdin). */
function cli(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Run {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: root,
    env: clientEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(options.stdin ?? '');
  let out = '';
  let err = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const waiter of [...waiters]) {
      if (out.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    stdoutHas: (text) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        waiters.push({ text, resolve });
        exit.then(() => reject(new Error(`exited before printing ${JSON.stringify(text)}: ${err}`)));
      }),
    exit,
  };
}

async function finished(run: Run) {
  const { code } = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

const userContent = (body: unknown) =>
  ((body as { messages: Array<{ role: string; content: string }> }).messages ?? [])
    .filter((message) => message.role === 'user')
    .map((message) => message.content);

describe('chatwire chat', { timeout: 30_000 }, () => {
  it('streams exactly the reply to stdout and a summary line to stderr', async () => {
    sim.behave({ tokens: ['Hel', 'lo', ' wor', 'ld'] });
    const result = await finished(cli(['chat', 'hi', '--url', chatwire.url]));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Hello world');
    expect(result.stderr).toMatch(/^\d+ tokens · [\d.-]+ tokens\/s · first token \d+ ms · [\d.]+ s\n$/);
    // No spinner and no escape codes when nothing is a terminal.
    expect(result.stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|waiting/);
    expect(result.stderr + result.stdout).not.toContain('\x1b');
    expect(userContent((await sim.nextRequest()).body)).toEqual(['hi']);
  });

  it('prints the events as NDJSON with --json, ending with done', async () => {
    sim.behave({ tokens: ['a', 'b'] });
    const result = await finished(cli(['chat', 'hi', '--json', '--url', chatwire.url]));
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; text?: string });
    expect(lines.filter((line) => line.type === 'text').map((line) => line.text)).toEqual(['a', 'b']);
    expect(lines.at(-1)?.type).toBe('done');
    expect(result.stdout.endsWith('\n')).toBe(true);
  });

  it('appends piped stdin to the prompt, or uses it alone', async () => {
    const withPrompt = await finished(
      cli(['chat', 'summarise', '--url', chatwire.url], { stdin: '# notes\nline two\n' }),
    );
    expect(withPrompt.code).toBe(0);
    expect(userContent((await sim.nextRequest()).body)).toEqual(['summarise\n\n# notes\nline two\n']);

    const alone = await finished(cli(['chat', '--url', chatwire.url], { stdin: 'only stdin' }));
    expect(alone.code).toBe(0);
    expect(userContent((await sim.nextRequest()).body)).toEqual(['only stdin']);
  });

  it('takes the URL from CHATWIRE_URL and passes --model and --persona', async () => {
    const result = await finished(
      cli(['chat', 'hi', '--model', 'qwen2.5:7b', '--persona', 'default'], {
        env: { CHATWIRE_URL: chatwire.url },
      }),
    );
    expect(result.code).toBe(0);
    expect(((await sim.nextRequest()).body as { model: string }).model).toBe('qwen2.5:7b');
  });

  it('aborts the request on SIGINT and exits 130', async () => {
    sim.behave({ tokens: ['first', ' second', ' third', ' fourth'], tokenDelayMs: 60_000 });
    const run = cli(['chat', 'hi', '--url', chatwire.url]);
    await run.stdoutHas('first');
    run.child.kill('SIGINT');
    const abort = await sim.nextAbort();
    expect(abort.path).toBe('/api/chat');
    const result = await finished(run);
    expect(result.code).toBe(130);
    expect(result.stdout).toBe('first');
  });

  it('exits 1 with the server message when the gateway answers 503', async () => {
    const down = await startGateway(`http://127.0.0.1:${await closedPort()}`);
    try {
      const result = await finished(cli(['chat', 'hi', '--url', down.url]));
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^chatwire: .*Ollama.*\n$/);
    } finally {
      await down.close();
    }
  });

  it('exits 1 with a hint when chatwire is not reachable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await finished(cli(['chat', 'hi', '--url', url]));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`chatwire: cannot reach chatwire at ${url}: is "chatwire serve" running?\n`);
  });

  it('exits 2 when there is no prompt at all', async () => {
    const result = await finished(cli(['chat', '--url', chatwire.url]));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^chatwire: .*prompt/);
  });
});

describe('the API key', { timeout: 30_000 }, () => {
  it('is sent as a bearer token by chat and models, from --api-key or else $CHATWIRE_API_KEY', async () => {
    const proxy = await startRecordingProxy(chatwire.url);
    try {
      const fromEnv = { env: { CHATWIRE_API_KEY: 'from-env' } };
      const runs = [
        cli(['chat', 'hi', '--url', proxy.url], fromEnv),
        cli(['models', '--url', proxy.url], fromEnv),
        cli(['chat', 'hi', '--url', proxy.url, '--api-key', 'from-flag'], fromEnv),
        cli(['models', '--url', proxy.url, '-k', 'from-flag'], fromEnv),
        cli(['chat', 'hi', '--url', proxy.url]),
      ];
      for (const run of runs) expect((await finished(run)).code).toBe(0);
      const sent = proxy.requests.map(({ path, authorization }) => `${path} ${authorization}`).sort();
      expect(sent).toEqual(
        [
          '/v1/chat Bearer from-env',
          '/v1/models Bearer from-env',
          '/v1/chat Bearer from-flag',
          '/v1/models Bearer from-flag',
          '/v1/chat undefined',
        ].sort(),
      );
    } finally {
      await proxy.close();
    }
  });
});

describe('chatwire models', { timeout: 30_000 }, () => {
  it("lists the upstream's models as a table, or as JSON", async () => {
    const table = await finished(cli(['models', '--url', chatwire.url]));
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+OWNED BY$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(
      expect.arrayContaining(['qwen2.5:7b']),
    );

    const json = await finished(cli(['models', '--json', '--url', chatwire.url]));
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as { data: Array<{ id: string }> };
    expect(body.data.map((model) => model.id)).toContain('qwen2.5:7b');
  });

  it('exits 1 with a hint when chatwire is not reachable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await finished(cli(['models', '--url', url]));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is "chatwire serve" running?');
  });
});

describe('chatwire doctor', { timeout: 30_000 }, () => {
  it('passes against a running upstream that serves the model', async () => {
    const result = await finished(
      cli(['doctor'], { env: { OLLAMA_HOST: sim.url, DATABASE_URL: 'sqlite::memory:' } }),
    );
    expect(result.stdout).not.toContain('FAIL');
    expect(result.stdout).toMatch(/^ok\s+configuration loads/m);
    expect(result.stdout).toMatch(/^ok\s+upstream Ollama 0\.33\.0/m);
    expect(result.stdout).toMatch(/^ok\s+model qwen2\.5:7b/m);
    expect(result.stdout).toMatch(/^ok\s+database opens/m);
    expect(result.code).toBe(0);
  });

  it('fails with the fix when the upstream is down', async () => {
    const result = await finished(
      cli(['doctor'], {
        env: { OLLAMA_HOST: `http://127.0.0.1:${await closedPort()}`, DATABASE_URL: 'sqlite::memory:' },
      }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL\s+upstream Ollama/m);
    expect(result.stdout).toContain('is "ollama serve" running? set OLLAMA_HOST');
  });

  it('tells how to get the model when the embedded engine has none', async () => {
    const result = await finished(
      cli(['doctor'], {
        env: {
          CHATWIRE_ENGINE: 'embedded',
          CHATWIRE_MODEL_FILE: join(tmpdir(), 'chatwire-no-such-model.gguf'),
          DATABASE_URL: 'sqlite::memory:',
        },
      }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL\s+upstream .*chatwire-no-such-model\.gguf/m);
    expect(result.stdout).toContain('run "chatwire pull"');
    expect(result.stdout).not.toContain('CHATWIRE_UPSTREAM_URL');
  });

  it('checks each host of a pool, and which hosts serve the model', async () => {
    const dead = await closedPort();
    const result = await finished(
      cli(['doctor'], {
        env: { CHATWIRE_UPSTREAMS: `${sim.url},127.0.0.1:${dead}`, DATABASE_URL: 'sqlite::memory:' },
      }),
    );
    expect(result.stdout).toMatch(
      new RegExp(`^ok\\s+upstream host 127\\.0\\.0\\.1:${sim.port} \\(Ollama\\) 0\\.33\\.0`, 'm'),
    );
    expect(result.stdout).toMatch(
      new RegExp(`^FAIL\\s+upstream host 127\\.0\\.0\\.1:${dead} \\(Ollama\\)`, 'm'),
    );
    expect(result.stdout).toMatch(
      new RegExp(`^ok\\s+model qwen2\\.5:7b is served by 127\\.0\\.0\\.1:${sim.port}$`, 'm'),
    );
    expect(result.code).toBe(1);
  });

  it('fails when the model is missing or the configuration is invalid', async () => {
    const missing = await finished(
      cli(['doctor'], {
        env: { OLLAMA_HOST: sim.url, DATABASE_URL: 'sqlite::memory:', CHATWIRE_MODEL: 'nope:1b' },
      }),
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^FAIL\s+model nope:1b/m);

    const invalid = await finished(cli(['doctor'], { env: { CHATWIRE_PORT: 'abc' } }));
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^FAIL\s+configuration: invalid configuration: CHATWIRE_PORT/m);
  });
});
