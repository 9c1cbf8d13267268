// `chatwire chat` with no prompt, in a terminal: the REPL, driven through a pseudo-terminal against a real
// gateway and the Ollama simulator.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../support/ollama-simulator.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { type PtyRun, startInPty } from '../support/pty-cli.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { type RunningGateway, startGateway } from '../support/start-gateway.js';

let sim: OllamaSimulator;
let chatwire: RunningGateway;

beforeAll(async () => {
  sim = await startOllamaSimulator();
  const personas = join(mkdtempSync(join(tmpdir(), 'chatwire-repl-')), 'chatwire.json');
  writeFileSync(
    personas,
    JSON.stringify({ personas: { pirate: { system_prompt: 'Arr.', model: 'llama3.2' } } }),
  );
  chatwire = await startGateway(sim.url, { CHATWIRE_CONFIG_FILE: personas, CHATWIRE_ALLOWED_MODELS: '*' });
});
afterAll(async () => {
  await chatwire?.close();
  await sim?.close();
});
beforeEach(() => sim.reset());

const PROMPT = '>>> ';

/** The REPL, at its first prompt. */
async function repl(url = chatwire.url, env: Record<string, string> = {}): Promise<PtyRun> {
  const run = startInPty(['chat', '--url', url], { env });
  await run.expect(PROMPT);
  return run;
}

/** Types a line and returns what the REPL printed until its next prompt. */
async function say(run: PtyRun, line: string): Promise<string> {
  run.type(`${line}\r`);
  return run.expect(PROMPT);
}

/** The messages chatwire sent upstream, without the persona's system prompt. */
function conversationOf(request: RecordedRequest) {
  const { messages } = request.body as { messages: Array<{ role: string; content: string }> };
  return messages.filter((message) => message.role !== 'system');
}

async function storedConversation(title: string) {
  const list = (await (await fetch(`${chatwire.url}/v1/conversations?limit=100`)).json()) as {
    conversations: Array<{ id: string; title: string }>;
  };
  const found = list.conversations.filter((conversation) => conversation.title === title);
  expect(found).toHaveLength(1);
  const body = (await (await fetch(`${chatwire.url}/v1/conversations/${found[0]?.id}`)).json()) as {
    messages: Array<{ role: string; content: string; status: string }>;
  };
  return body.messages.map(({ role, content, status }) => ({ role, content, status }));
}

describe('chatwire chat in a terminal (REPL)', { timeout: 60_000 }, () => {
  it('continues a conversation chatwire keeps: the second turn carries the first, /history shows both', async () => {
    const run = await repl();
    sim.behave({ tokens: ['Hello', ' Ana'] });
    expect(await say(run, 'I am Ana (REPL turns)')).toContain('Hello Ana');
    expect(await say(run, 'What is my name?')).toContain('Hello Ana');

    expect(conversationOf(await sim.nextRequest())).toEqual([
      { role: 'user', content: 'I am Ana (REPL turns)' },
    ]);
    expect(conversationOf(await sim.nextRequest())).toEqual([
      { role: 'user', content: 'I am Ana (REPL turns)' },
      { role: 'assistant', content: 'Hello Ana' },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(await storedConversation('I am Ana (REPL turns)')).toEqual([
      { role: 'user', content: 'I am Ana (REPL turns)', status: 'complete' },
      { role: 'assistant', content: 'Hello Ana', status: 'complete' },
      { role: 'user', content: 'What is my name?', status: 'complete' },
      { role: 'assistant', content: 'Hello Ana', status: 'complete' },
    ]);

    expect(await say(run, '/history')).toContain(
      'you: I am Ana (REPL turns)\nassistant: Hello Ana\nyou: What is my name?\nassistant: Hello Ana\n',
    );
    run.type('/exit\r');
    expect(await run.exit).toBe(0);
  });

  it('/persona and /model change what is sent, and the conversation goes on with its history', async () => {
    const run = await repl();
    expect(await say(run, '/persona')).toContain('persona: default');
    expect(await say(run, '/persona pirate')).toContain('persona: pirate');
    await say(run, 'ahoy');
    expect((await sim.nextRequest()).body).toMatchObject({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Arr.' },
        { role: 'user', content: 'ahoy' },
      ],
    });

    expect(await say(run, '/model qwen2.5:7b')).toContain('model: qwen2.5:7b');
    await say(run, 'again');
    expect((await sim.nextRequest()).body).toMatchObject({
      model: 'qwen2.5:7b',
      messages: [
        { role: 'system', content: 'Arr.' },
        { role: 'user', content: 'ahoy' },
        { role: 'assistant', content: 'Hello world' },
        { role: 'user', content: 'again' },
      ],
    });

    expect(await say(run, '/model default')).toContain("model: llama3.2 (persona pirate's)");
    await say(run, 'and now?');
    const back = (await sim.nextRequest()).body as { model: string; messages: unknown[] };
    expect(back.model).toBe('llama3.2');
    expect(back.messages).toHaveLength(6);

    const refused = await say(run, '/persona nobody');
    expect(refused).toContain("error: unknown persona 'nobody': the personas are default, pirate");
    expect(await say(run, '/persona')).toContain('persona: pirate');
    expect(await say(run, '/help')).toContain('/model [name]');
    expect(await say(run, '/nonsense')).toContain("unknown command '/nonsense'");
    run.type('/bye\r');
    expect(await run.exit).toBe(0);
  });

  it('/new starts a conversation with no history; Ctrl-D leaves', async () => {
    const run = await repl();
    await say(run, 'remember 42 (REPL new)');
    expect(await say(run, '/new')).toContain('new conversation');
    await say(run, 'what did I ask you to remember? (REPL new)');
    await sim.nextRequest();
    expect(conversationOf(await sim.nextRequest())).toEqual([
      { role: 'user', content: 'what did I ask you to remember? (REPL new)' },
    ]);
    expect(await storedConversation('remember 42 (REPL new)')).toHaveLength(2);
    expect(await storedConversation('what did I ask you to remember? (REPL new)')).toHaveLength(2);
    expect(await say(run, '/history')).toContain(
      'you: what did I ask you to remember? (REPL new)\nassistant: Hello world\n',
    );
    run.type('\x04');
    expect(await run.exit).toBe(0);
  });

  it('Ctrl-C during a reply stops it upstream and returns to the prompt; the text so far stays', async () => {
    const run = await repl();
    sim.behave({ tokens: ['Once upon', ' a time'], tokenDelayMs: 60_000 });
    run.type('tell me a story\r');
    await run.expect('Once upon');
    run.type('\x03');
    expect((await sim.nextAbort()).phase).toBe('stream');
    expect(await run.expect(PROMPT)).toContain('(interrupted)');

    sim.behave({ tokens: ['The end.'] });
    expect(await say(run, 'finish it')).toContain('The end.');
    await sim.nextRequest();
    expect(conversationOf(await sim.nextRequest())).toEqual([
      { role: 'user', content: 'tell me a story' },
      { role: 'assistant', content: 'Once upon' },
      { role: 'user', content: 'finish it' },
    ]);
    run.type('/exit\r');
    expect(await run.exit).toBe(0);
  });

  it('Ctrl-C at the prompt drops the line; twice at an empty prompt it exits 130', async () => {
    const run = await repl();
    run.type('half a thought');
    await run.expect('half a thought');
    run.type('\x03');
    await run.expect(PROMPT);
    run.type('\x03');
    expect(await run.expect(PROMPT)).toContain('press Ctrl-C again to leave');
    run.type('\x03');
    expect(await run.exit).toBe(130);
    expect(sim.requests.filter((request) => request.path === '/api/chat')).toEqual([]);
  });

  it('sends a """ block, and lines continued with a backslash, as one message each', async () => {
    const run = await repl();
    run.type('"""\r');
    await run.expect('... ');
    run.type('line one\r');
    await run.expect('... ');
    run.type('\r');
    await run.expect('... ');
    run.type('/not a command\r');
    await run.expect('... ');
    await say(run, '"""');
    expect(conversationOf(await sim.nextRequest())).toEqual([
      { role: 'user', content: 'line one\n\n/not a command' },
    ]);

    // Pasted in one piece: lines that arrive while a reply is not yet asked for are not lost.
    run.type('first part \\\rsecond part\r');
    await run.expect(PROMPT);
    expect(conversationOf(await sim.nextRequest()).at(-1)).toEqual({
      role: 'user',
      content: 'first part \nsecond part',
    });
    run.type('/exit\r');
    expect(await run.exit).toBe(0);
  });

  it('prints an error from the gateway and carries on', async () => {
    const run = await repl();
    sim.behave({ preError: { status: 503, error: 'server busy, please try again.' } });
    expect(await say(run, 'hi')).toMatch(/error: .*server busy, please try again\./);
    sim.behave({ tokens: ['fine now'] });
    expect(await say(run, 'and now?')).toContain('fine now');
    run.type('/exit\r');
    expect(await run.exit).toBe(0);
  });

  it('refuses --json without a prompt (events need a one-shot reply), exiting 2', async () => {
    const run = startInPty(['chat', '--json', '--url', chatwire.url]);
    expect(await run.exit).toBe(2);
    expect(run.output()).toContain('chatwire: --json needs a prompt');
    expect(run.output()).not.toContain(PROMPT);
  });

  it('without the conversations API, sends the whole history to /v1/chat, with $CHATWIRE_API_KEY', async () => {
    const proxy = await startRecordingProxy(chatwire.url, { notFound: /^\/v1\/conversations/ });
    try {
      const run = await repl(proxy.url, { CHATWIRE_API_KEY: 'from-env' });
      expect(await say(run, 'I am Ana')).toContain('keeps no conversations');
      await say(run, 'What is my name?');
      await sim.nextRequest();
      expect(conversationOf(await sim.nextRequest())).toEqual([
        { role: 'user', content: 'I am Ana' },
        { role: 'assistant', content: 'Hello world' },
        { role: 'user', content: 'What is my name?' },
      ]);
      run.type('/exit\r');
      expect(await run.exit).toBe(0);
      expect(proxy.requests).toEqual([
        { method: 'POST', path: '/v1/conversations', authorization: 'Bearer from-env' },
        { method: 'POST', path: '/v1/chat', authorization: 'Bearer from-env' },
        { method: 'POST', path: '/v1/chat', authorization: 'Bearer from-env' },
      ]);
    } finally {
      await proxy.close();
    }
  });
});
