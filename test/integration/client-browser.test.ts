// The client SDK is meant to run in browsers unchanged: its compiled modules import nothing from Node, and in
// headless Chromium, loaded from a page on another origin, they stream a chat from a real gateway.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { root } from '../support/child-gateway.js';
import { browserTestsRun, launchChromium } from '../support/chromium.js';
import { type CompiledClient, compileClient, importsOf, nodeGlobalsIn } from '../support/compile-client.js';
import { type OllamaSimulator, startOllamaSimulator } from '../support/ollama-simulator.js';
import { type RunningGateway, startGateway } from '../support/start-gateway.js';
import { startStaticServer } from '../support/static-server.js';

const runInBrowser = browserTestsRun('the browser test of the client SDK');

let client: CompiledClient;
beforeAll(() => {
  client = compileClient();
}, 30_000);

describe('the compiled client modules', () => {
  it('import only each other: no node: module, no package', () => {
    expect(client.files).toContain(join('client', 'index.js'));
    for (const file of client.files) {
      for (const specifier of importsOf(join(client.dir, file))) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\.?\//);
      }
    }
  });

  it('use no Node-only global', () => {
    for (const file of client.files) expect(nodeGlobalsIn(join(client.dir, file)), file).toEqual([]);
  });
});

describe.runIf(runInBrowser)('the client SDK in headless Chromium', { timeout: 30_000 }, () => {
  let sim: OllamaSimulator;
  let chatwire: RunningGateway;
  let site: Awaited<ReturnType<typeof startStaticServer>>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    sim = await startOllamaSimulator();
    chatwire = await startGateway(sim.url);
    const pages = join(root, 'test/support/browser');
    site = await startStaticServer(client.dir, {
      '/': join(pages, 'client-page.html'),
      '/client-scenarios.js': join(pages, 'client-scenarios.js'),
    });
    browser = await launchChromium();
    page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // goto waits for the load event, which comes after the page's modules (scenarios → client → protocol) ran.
    await page.goto(`${site.url}/`);
    expect(pageErrors).toEqual([]);
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await chatwire?.close();
    await sim?.close();
  });
  beforeEach(() => sim.reset());

  /** Runs one export of client-scenarios.js in the page with the gateway's URL. */
  function scenario<T>(name: string): Promise<T> {
    return page.evaluate(
      `import('/client-scenarios.js').then((scenarios) => scenarios.${name}(${JSON.stringify(chatwire.url)}))`,
    ) as Promise<T>;
  }

  it('streams a chat from a gateway on another origin, token by token', async () => {
    const tokens = ['héllo', ' 日本', ' 🙂', ' wörld'];
    sim.behave({ tokens, finalMetrics: { eval_count: 4 } });
    const events =
      await scenario<Array<{ type: string; text?: string; stats?: { completionTokens: number } }>>(
        'streamChat',
      );
    expect(events.filter((event) => event.type === 'text').map((event) => event.text)).toEqual(tokens);
    expect(events.at(-1)).toMatchObject({ type: 'done', stats: { completionTokens: 4 } });
    expect(new URL(site.url).origin).not.toBe(new URL(chatwire.url).origin);
  });

  it('an abort in the page ends the loop with an AbortError and stops the upstream', async () => {
    sim.behave({ tokens: ['first', ' second'], tokenDelayMs: 60_000 });
    const outcome = await scenario<{ texts: string[]; ended: string; chatwireError?: boolean }>(
      'abortAfterFirstToken',
    );
    expect(outcome).toEqual({ texts: ['first'], ended: 'AbortError', chatwireError: false });
    expect((await sim.nextAbort()).phase).toBe('stream');
  });

  it('a refusal from the gateway is a ChatwireError with the status and message', async () => {
    sim.behave({ preError: { status: 503, error: 'server busy, please try again.' } });
    const failure = await scenario<{ chatwireError: boolean; status: number; code: string; message: string }>(
      'failingChat',
    );
    expect(failure).toMatchObject({ chatwireError: true, status: 503, code: 'http_503' });
    expect(failure.message).toContain('server busy');
  });
});
