/**
 * End to end: the demo pages as any visitor meets them — on a phone, in the
 * browser's console, and to axe (WCAG 2 A/AA, colour contrast included) in
 * every state the seeded accounts show. The real server on a fresh database,
 * the built widget, Chromium.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, startDemoServer } from '../support/demo-server.js';
import { assertAccessible, eventually, expect } from '../support/page.js';

describe('demo pages', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;

  // The tests here only read (a declined purchase changes nothing): one server.
  before(async () => {
    [demo, browser] = await Promise.all([startDemoServer(), launchChromium()]);
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  /** Errors thrown in this test's pages, checked after it (a throw in Playwright's handler would be lost). */
  let pageErrors: string[] = [];
  beforeEach(() => {
    pageErrors = [];
  });
  afterEach(() => assert.deepEqual(pageErrors, [], 'no error in the page'));

  async function open(path: string, viewport = { width: 1100, height: 800 }) {
    const page = await browser.newPage({ viewport });
    const errors = pageErrors;
    page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
    await page.goto(demo.base + path);
    await expect(
      page.getByRole('heading', { name: /^(Extra minutes|Zusatzminuten)$/ }),
    ).toBeVisible();
    return page;
  }

  const card = (page: Page) => page.locator('minute-topup-card');
  const banner = (page: Page) => page.locator('minute-topup-banner');

  describe('on a 375 px phone', () => {
    const phone = { width: 375, height: 740 };

    /** Nothing scrolls sideways: neither the document nor the body is wider than the screen. */
    async function assertNoSidewaysScroll(page: Page, state: string) {
      const widths = await page.evaluate(() => ({
        document: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
      }));
      assert.ok(widths.document <= phone.width, `${state}: the page is ${widths.document} px wide`);
      assert.ok(widths.body <= phone.width, `${state}: the body is ${widths.body} px wide`);
    }

    /** An open modal (in the top layer, outside the page's scroll width) fits on the screen. */
    async function assertDialogFits(page: Page, host: string, state: string) {
      const box = await page
        .locator(host)
        .evaluate((el) => el.shadowRoot!.querySelector('dialog')!.getBoundingClientRect().toJSON());
      assert.ok(
        box.left >= 0 && box.right <= phone.width,
        `${state}: the dialog spans ${box.left}–${box.right} px`,
      );
    }

    const pages = [
      {
        path: '/demo/billing?account=demo-on-extra',
        loaded: 'min used',
        buy: 'Buy more minutes',
        view: 'View packages',
        history: 'Your packages',
      },
      {
        path: '/demo/billing?account=demo-regular-buyer',
        loaded: 'min used',
        buy: 'Buy more minutes',
        view: 'View packages',
        history: 'Your packages',
      },
      {
        path: '/demo/partner?account=demo-on-extra',
        loaded: 'verbraucht',
        buy: 'Minuten nachkaufen',
        view: 'Pakete ansehen',
        history: 'Ihre Pakete',
      },
    ];

    for (const p of pages) {
      it(`${p.path} fits the screen, with the dialog and the history open too`, async () => {
        const page = await open(p.path, phone);
        await expect(card(page)).toContainText(p.loaded);
        await assertNoSidewaysScroll(page, 'closed');

        await card(page).getByRole('button', { name: p.buy }).click();
        await expect(page.getByRole('dialog', { name: p.buy })).toBeVisible();
        await assertNoSidewaysScroll(page, 'dialog open');
        await assertDialogFits(page, 'minute-topup-dialog', 'purchase dialog');
        await page.keyboard.press('Escape');
        await expect(page.getByRole('dialog', { name: p.buy })).toBeHidden();

        await card(page).getByRole('button', { name: p.view }).click();
        const history = page.getByRole('dialog', { name: p.history });
        await expect(history).toBeVisible();
        await expect(history.getByRole('row').nth(1)).toBeVisible();
        await assertNoSidewaysScroll(page, 'history open');
        await assertDialogFits(page, 'minute-topup-history', 'history');
        await page.close();
      });
    }
  });

  describe('console and network', () => {
    for (const path of ['/demo/billing', '/demo/partner']) {
      it(`${path} loads with no console error and no failed request, icon included`, async () => {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('response', (r) => {
          if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
        });
        page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
        // The network is never idle (the widget keeps its live balance stream
        // open): wait for that stream, which comes after the widget's loading,
        // and for the page icon, fetched after load, and for nothing else to be
        // under way.
        const pending = new Set<string>();
        const done: string[] = [];
        page.on('request', (r) => pending.add(r.url()));
        page.on('requestfailed', (r) => pending.delete(r.url()));
        page.on('requestfinished', (r) => (pending.delete(r.url()), done.push(r.url())));
        const stream = page.waitForResponse((r) => r.url().endsWith('/events'));
        await page.goto(demo.base + path);
        assert.equal((await stream).status(), 200);
        await eventually(async () => {
          assert.ok(
            done.some((url) => /favicon\.svg$/.test(url)),
            'the icon was not fetched',
          );
          const others = [...pending].filter((url) => !url.endsWith('/events'));
          assert.deepEqual(others, []);
        });
        await expect(
          page.getByRole('heading', { name: /^(Extra minutes|Zusatzminuten)$/ }),
        ).toBeVisible();

        // The page names an icon that is served, and /favicon.ico (asked for by
        // convention, by other tools and browsers) is served too.
        const icon = await page.locator('link[rel~="icon"]').getAttribute('href');
        assert.ok(icon, 'the page names an icon');
        for (const url of [new URL(icon, page.url()).href, `${demo.base}/favicon.ico`]) {
          const res = await page.request.get(url);
          assert.equal(res.status(), 200, url);
          assert.match(res.headers()['content-type'] ?? '', /^image\//, url);
        }
        assert.deepEqual(problems, []);
        await page.close();
      });
    }
  });

  describe('axe, colour contrast included', () => {
    /** Each seeded account's state on the partner page, and what shows it is there. */
    const partnerStates = [
      { account: 'demo-fresh', state: 'nothing used (no banner)', shows: 'Tarifminuten' },
      { account: 'demo-running-low', state: 'low', shows: 'Ihre Minuten werden knapp.' },
      { account: 'demo-on-extra', state: 'exhausted', shows: 'Tarifminuten sind aufgebraucht' },
      { account: 'demo-empty', state: 'empty', shows: 'Keine Minuten mehr.' },
      { account: 'demo-regular-buyer', state: 'upgrade advice', shows: 'nachgekauft' },
      { account: 'demo-declined', state: 'declined purchase', shows: 'Tarifminuten' },
    ];

    for (const s of partnerStates) {
      it(`partner page, ${s.state} (${s.account}): closed, dialog open, history open`, async () => {
        const page = await open(`/demo/partner?account=${s.account}`);
        const widget = page.locator('minute-topup');
        await expect(widget).toContainText(s.shows);
        if (s.state === 'nothing used (no banner)') {
          await expect(banner(page).getByRole('button')).toHaveCount(0);
        }
        await assertAccessible(page, 'closed');

        await card(page).getByRole('button', { name: 'Minuten nachkaufen' }).click();
        const dialog = page.getByRole('dialog', { name: 'Minuten nachkaufen' });
        await expect(dialog).toBeVisible();
        await expect(dialog.getByRole('radio', { name: /Mittel/ })).toBeChecked();
        await assertAccessible(page, 'dialog open');
        if (s.account === 'demo-declined') {
          await dialog.getByRole('button', { name: '100 Minuten für 23,00 € kaufen' }).click();
          await expect(dialog).toContainText('Ihre Zahlung wurde abgelehnt');
          await assertAccessible(page, 'dialog open, payment declined');
        }
        await dialog.getByRole('button', { name: 'Abbrechen' }).click();
        await expect(dialog).toBeHidden();

        await card(page).getByRole('button', { name: 'Pakete ansehen' }).click();
        const history = page.getByRole('dialog', { name: 'Ihre Pakete' });
        await expect(history).toBeVisible();
        await expect(history).toContainText('Insgesamt verbleibend');
        await assertAccessible(page, 'history open');
        await page.close();
      });
    }

    for (const account of ['demo-running-low', 'demo-regular-buyer']) {
      it(`billing page (${account}): closed, dialog open, history open`, async () => {
        const page = await open(`/demo/billing?account=${account}`);
        await expect(card(page)).toContainText('min used');
        await assertAccessible(page, 'closed');

        await card(page).getByRole('button', { name: 'Buy more minutes' }).click();
        const dialog = page.getByRole('dialog', { name: 'Buy more minutes' });
        await expect(dialog).toBeVisible();
        await expect(dialog.getByRole('radio', { name: /Medium/ })).toBeChecked();
        await assertAccessible(page, 'dialog open');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await expect(dialog).toBeHidden();

        await card(page).getByRole('button', { name: 'View packages' }).click();
        const history = page.getByRole('dialog', { name: 'Your packages' });
        await expect(history).toBeVisible();
        await expect(history).toContainText('Total remaining');
        await assertAccessible(page, 'history open');
        await page.close();
      });
    }
  });
});
