import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { root } from './child-gateway.js';

/** Where the page tests leave their screenshots (ignored by git). */
export const SCREENSHOTS = join(root, 'test-output/screenshots');

export interface ChatPage {
  page: Page;
  context: BrowserContext;
  /** Every URL the page asked for, from its first request on. */
  requests: string[];
  /** Uncaught errors in the page. */
  errors: string[];
  /** Every answer of chatwire's with a 5xx status, as `status method path`. */
  serverErrors: string[];
  /** Dialogs the page opened (alert, confirm), accepted. */
  dialogs: string[];
  send(text: string): Promise<void>;
  /** The last reply's article, and its rendered body. */
  lastReply(): Locator;
  lastReplyBody(): Locator;
  waitForReplyState(state: 'complete' | 'stopped' | 'cut' | 'failed'): Promise<void>;
  /** Calls a method of test/support/page/chat-page-probes.js in the page. */
  probe<T>(call: string): Promise<T>;
  close(): Promise<void>;
}

/** A fresh browser context (no stored key, no cookies) on the gateway's page. */
export async function openChatPage(
  browser: Browser,
  url: string,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<ChatPage> {
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1200, height: 800 },
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  const serverErrors: string[] = [];
  await page.addInitScript({ path: join(root, 'test/support/page/chat-page-probes.js') });
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 500)
      serverErrors.push(
        `${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`,
      );
  });
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.accept();
  });
  await page.goto(`${url}/`);
  await page.locator('textarea#message').waitFor();
  const lastReply = () => page.locator('article.message.assistant').last();
  return {
    page,
    context,
    requests,
    errors,
    serverErrors,
    dialogs,
    async send(text) {
      await page.locator('textarea#message').fill(text);
      await page.keyboard.press('Enter');
    },
    lastReply,
    lastReplyBody: () => lastReply().locator('.body'),
    probe: (call) => page.evaluate(`window.chatwireProbes.${call}`),
    async waitForReplyState(state) {
      await page.locator(`article.message.assistant.${state}`).last().waitFor();
      await expect.poll(() => lastReply().getAttribute('class')).toContain(state);
    },
    close: () => context.close(),
  };
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}
