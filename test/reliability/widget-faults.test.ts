/**
 * The widget under faults: the real demo server and the built widget in
 * Chromium, with the network between them broken on purpose (playwright's
 * request routing and offline mode). Every fault must show a clear message,
 * recover without a page reload, and never buy twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { DEMO_TEST_SECRET, launchChromium, startDemoServer } from '../support/demo-server.js';
import { expect } from '../support/page.js';
import { reportReliability } from '../support/reliability-report.js';

const SECRET = DEMO_TEST_SECRET;
const figures = { scenarios: 0, purchasesExpected: 0, purchasesMade: 0, failures: 0 };

describe('the widget under faults (Chromium, real server)', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    demo = await startDemoServer();
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await demo?.stop();
    reportReliability({
      tried:
        'The widget under faults: API down, 500, answer lost after the charge, slow API and double click, declined card, expired token, offline then online (Chromium, real server)',
      figures: `${figures.scenarios} scenarios, ${figures.purchasesExpected} purchases expected, ${figures.purchasesMade} made, ${figures.failures} failures`,
      check:
        'a clear message for each fault, recovery without a page reload, no purchase made twice',
      held: figures.failures === 0 && figures.purchasesMade === figures.purchasesExpected,
    });
  });

  /** How many packages an account has, asked of the API with the secret key. */
  async function purchaseCount(account: string): Promise<number> {
    const res = await fetch(`${demo.base}/v1/accounts/${account}/purchases`, {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    return ((await res.json()) as { purchases: unknown[] }).purchases.length;
  }

  async function open(
    account: string,
    prepare?: (page: Page) => Promise<void>,
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await prepare?.(page);
    await page.goto(`${demo.base}/demo/billing?account=${account}`);
    return { page, context };
  }

  const card = (page: Page) => page.locator('minute-topup-card');
  const dialogOf = (page: Page) => page.getByRole('dialog', { name: 'Buy more minutes' });
  const confirm = (page: Page) =>
    dialogOf(page).getByRole('button', { name: 'Buy 100 minutes for $25.00' });

  async function openDialog(page: Page) {
    await expect(card(page)).toContainText('Extra balance');
    await card(page).getByRole('button', { name: 'Buy more minutes' }).click();
    await expect(dialogOf(page)).toBeVisible();
  }

  /** Runs one scenario and checks that exactly `expected` packages were bought. */
  async function scenario(account: string, expected: number, run: () => Promise<void>) {
    figures.scenarios += 1;
    figures.purchasesExpected += expected;
    const before = await purchaseCount(account);
    try {
      await run();
    } catch (error) {
      figures.failures += 1;
      throw error;
    } finally {
      figures.purchasesMade += (await purchaseCount(account)) - before;
    }
    assert.equal((await purchaseCount(account)) - before, expected, 'packages bought');
  }

  const onPurchase = (handler: (route: Route) => Promise<void>) => async (route: Route) => {
    if (route.request().method() === 'POST') await handler(route);
    else await route.continue();
  };

  it('API down at load: a message and Retry, then the balance', async () => {
    await scenario('demo-fresh', 0, async () => {
      const { page } = await open('demo-fresh', async (p) => {
        await p.route('**/v1/**', (route) => route.abort('connectionrefused'));
      });
      await expect(card(page)).toContainText('cannot be reached');
      await page.unroute('**/v1/**');
      await card(page).getByRole('button', { name: 'Try again' }).click();
      await expect(card(page)).toContainText('Extra balance');
    });
  });

  it('a 500 on the purchase: the message in the dialog, then Try again buys once', async () => {
    await scenario('demo-fresh', 1, async () => {
      const { page } = await open('demo-fresh');
      await openDialog(page);
      const pattern = '**/v1/accounts/*/purchases';
      await page.route(
        pattern,
        onPurchase((route) =>
          route.fulfill({
            status: 500,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'internal_error', message: 'boom' } }),
          }),
        ),
      );
      await confirm(page).click();
      await expect(dialogOf(page)).toContainText('went wrong on our side');
      await page.unroute(pattern);
      await dialogOf(page).getByRole('button', { name: 'Try again' }).click();
      await expect(dialogOf(page)).toBeHidden();
      await expect(card(page)).toContainText('1 active package');
    });
  });

  it('the answer lost after the charge: Try again completes the same purchase, once', async () => {
    await scenario('demo-running-low', 1, async () => {
      const { page } = await open('demo-running-low');
      await openDialog(page);
      const pattern = '**/v1/accounts/*/purchases';
      await page.route(
        pattern,
        onPurchase(async (route) => {
          await route.fetch(); // the server charges and credits …
          await route.abort('connectionreset'); // … and the answer never arrives
        }),
      );
      await confirm(page).click();
      await expect(dialogOf(page)).toContainText('cannot be reached');
      await page.unroute(pattern);
      await dialogOf(page).getByRole('button', { name: 'Try again' }).click();
      await expect(dialogOf(page)).toBeHidden();
      await expect(card(page)).toContainText('Extra balance: 100 min');
    });
  });

  it('a slow API: the pending state, and a double click buys once', async () => {
    await scenario('demo-on-extra', 1, async () => {
      const { page } = await open('demo-on-extra');
      await openDialog(page);
      const pattern = '**/v1/accounts/*/purchases';
      await page.route(
        pattern,
        onPurchase(async (route) => {
          await new Promise((r) => setTimeout(r, 1200));
          await route.continue();
        }),
      );
      await confirm(page).dblclick();
      await expect(dialogOf(page)).toContainText('Processing payment');
      await expect(dialogOf(page)).toBeHidden();
      await page.unroute(pattern);
    });
  });

  it('a declined card: the message, nothing bought', async () => {
    await scenario('demo-declined', 0, async () => {
      const { page } = await open('demo-declined');
      await openDialog(page);
      await confirm(page).click();
      await expect(dialogOf(page)).toContainText('declined');
      await page.keyboard.press('Escape');
      await expect(dialogOf(page)).toBeHidden();
    });
  });

  it('an expired token: fetchToken is asked again and the balance loads', async () => {
    await scenario('demo-empty', 0, async () => {
      let sessions = 0;
      let expired = false;
      const { page } = await open('demo-empty', async (p) => {
        p.on('request', (r) => {
          if (r.url().endsWith('/demo/api/session')) sessions += 1;
        });
        await p.route('**/v1/accounts/*/balance', async (route) => {
          if (expired) return route.continue();
          expired = true;
          await route.fulfill({
            status: 401,
            contentType: 'application/json',
            body: JSON.stringify({
              error: { code: 'unauthorized', message: 'The token has expired.' },
            }),
          });
        });
      });
      await expect(card(page)).toContainText('Extra balance');
      assert.equal(expired, true);
      assert.equal(sessions, 2, 'one token at start, one after the 401');
    });
  });

  it('offline, then online again: the message, then Try again buys once', async () => {
    await scenario('demo-regular-buyer', 1, async () => {
      const { page, context } = await open('demo-regular-buyer');
      await openDialog(page);
      await context.setOffline(true);
      await confirm(page).click();
      await expect(dialogOf(page)).toContainText('cannot be reached');
      await context.setOffline(false);
      await dialogOf(page).getByRole('button', { name: 'Try again' }).click();
      await expect(dialogOf(page)).toBeHidden();
    });
  });
});
