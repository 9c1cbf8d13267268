import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHATWIRE_TEST_CHROMIUM ?? '/usr/bin/chromium';
// .ci/run sets this: there, a missing browser is a failure, not a reason to skip.
const required = process.env.CHATWIRE_TEST_BROWSER === 'required';

/** Whether the browser tests run here; says once why not when they do not. */
export function browserTestsRun(what: string): boolean {
  if (required || existsSync(CHROMIUM)) return true;
  console.warn(
    `skipping ${what}: no Chromium at ${CHROMIUM} ` +
      '(apt-get install chromium, or set CHATWIRE_TEST_CHROMIUM to its path)',
  );
  return false;
}

/** Debian's Chromium, headless, with everything that would reach beyond 127.0.0.1 switched off. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
