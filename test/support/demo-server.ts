import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
// @ts-expect-error -- a plain ES module without types
import { chromiumArgs, findChromium } from '../../scripts/chromium.mjs';
import { freePort } from './net.js';
import { expect } from './page.js';

/** The secret key the test demo servers run with (the tests play the host's backend). */
export const DEMO_TEST_SECRET = 'sk_demo_test_0123456789abcdef0123';

/**
 * Starts the real `npm start` process (API + demo) on a fresh SQLite file in a
 * temporary folder, building the widget first if `dist/` is missing.
 */
export async function startDemoServer(env: Record<string, string> = {}) {
  if (!existsSync('dist/minute-topup.js')) {
    const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-demo-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: join(dir, 'ledger.db'),
      MINUTE_TOPUP_SECRET_KEY: DEMO_TEST_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stdout?.on('data', (d) => (log += d));
  server.stderr?.on('data', (d) => (log += d));
  // Generous: on a loaded machine tsx and the seeding take their time.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/demo/api/accounts`)).ok) break;
    } catch {
      if (Date.now() > deadline || server.exitCode !== null) {
        server.kill();
        throw new Error(`the demo server did not start:\n${log}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    /** The server process (to read its memory in /proc, say). */
    pid: server.pid!,
    log: () => log,
    async stop() {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), args: chromiumArgs });
}

/**
 * Opens `url`, a demo billing page, in a new page of `browser`, and waits
 * until it shows the widget and follows the balance live. Errors thrown in the
 * page go to `pageErrors`, for the caller to assert empty (a throw in
 * Playwright's handler would be lost); `watch` is called before the page
 * loads, to listen to it from the start.
 */
export async function openBillingPage(
  browser: Browser,
  url: string,
  { pageErrors, watch }: { pageErrors: string[]; watch?: (page: Page) => void },
): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
  watch?.(page);
  const live = page.waitForResponse((r) => r.url().endsWith('/events') && r.ok());
  await page.goto(url);
  await expect(page.getByRole('heading', { name: 'Extra minutes' })).toBeVisible();
  await live;
  return page;
}
