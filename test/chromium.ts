/**
 * @file Headless Chromium as this project drives it (test/browser.test.ts, scripts/trace-screenshot.ts): Debian's
 * binary (or CHROMIUM_PATH) through playwright-core, launched with the flags a container without a sandbox or a
 * network needs.
 */
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches headless Chromium: no sandbox, no background network, component updates or sync, no first-run UI. */
export function launchChromium(pw: typeof import('playwright-core')): Promise<Browser> {
  return pw.chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
