/**
 * End to end: the demo's roles and its operator panel (DESIGN §11) — a viewer
 * whose widget only reads, and grants, refunds and the ledger export made
 * through the demo's own backend with the secret key, which the page never
 * sees. The real server on a fresh database, the built widget, Chromium.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import {
  DEMO_TEST_SECRET,
  launchChromium,
  openBillingPage,
  startDemoServer,
} from '../support/demo-server.js';
import { assertAccessible, eventually, expect, visibleText } from '../support/page.js';

describe('demo roles and operator panel, end to end', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  /** Errors thrown in this test's pages, checked after it. */
  let pageErrors: string[] = [];

  before(async () => {
    browser = await launchChromium();
  });

  // Each test gets its own server on a fresh database: grants and refunds change it.
  beforeEach(async () => {
    pageErrors = [];
    demo = await startDemoServer();
  });

  afterEach(async () => {
    await demo?.stop();
    assert.deepEqual(pageErrors, [], 'no error in the page');
  });

  after(async () => {
    await browser?.close();
  });

  /**
   * The billing page of `account`, loaded and following its balance live.
   * Every answer of the demo's backend is kept, to show the secret key is in none.
   */
  async function billing(account: string, query = '') {
    const answers: Promise<string>[] = [];
    const page = await openBillingPage(
      browser,
      `${demo.base}/demo/billing?account=${account}${query}`,
      {
        pageErrors,
        watch: (page) =>
          page.on('response', (r) => {
            if (r.url().includes('/demo/api/')) answers.push(r.text().catch(() => ''));
          }),
      },
    );
    return { page, answers };
  }

  const card = (page: Page) => page.locator('minute-topup-card');
  const banner = (page: Page) => page.locator('minute-topup-banner');
  const panel = (page: Page) => page.getByRole('region', { name: 'Operator tools' });
  const purchasesTable = (page: Page) => panel(page).getByRole('table');
  const done = (page: Page) => page.locator('#operator-result');
  const refused = (page: Page) => page.getByRole('alert').filter({ hasText: /\S/ });

  /** What the ledger holds, asked of the demo's backend as the panel does. */
  async function purchasesOf(account: string): Promise<{ name: string; status: string }[]> {
    const res = await fetch(`${demo.base}/demo/api/accounts/${account}/purchases`);
    return ((await res.json()) as { purchases: { name: string; status: string }[] }).purchases;
  }

  async function fillGrant(page: Page, minutes: string, reason: string) {
    await page.getByLabel('Minutes', { exact: true }).fill(minutes);
    await page.getByLabel('Reason', { exact: true }).fill(reason);
  }

  it('shows a viewer the balance and the packages, with nothing to buy', async () => {
    const { page, answers } = await billing('demo-running-low');
    await expect(card(page).getByRole('button', { name: 'Buy more minutes' })).toBeVisible();

    // Signing in as a viewer: the backend mints a token that only reads.
    const session = page.waitForRequest((r) => r.url().endsWith('/demo/api/session'));
    const live = page.waitForResponse((r) => r.url().endsWith('/events') && r.ok());
    await page.getByLabel('Signed in as').selectOption({ label: 'Viewer (read-only)' });
    assert.equal(JSON.parse((await session).postData() ?? '{}').role, 'viewer');
    const answer = await (await (await session).response())!.json();
    assert.equal(answer.scope, 'view');
    await live;

    await expect(card(page)).toContainText('450 of 500 min used');
    await expect(card(page)).toContainText('Extra balance: 0 min');
    await expect(banner(page)).toContainText('running low');
    // The support team's tools are not the viewer's to see.
    await expect(page.getByRole('heading', { name: 'Operator tools' })).toHaveCount(0);
    await expect(
      page.locator('minute-topup').getByRole('button', { name: 'Buy more minutes' }),
    ).toHaveCount(0);
    await card(page).getByRole('button', { name: 'View packages' }).click();
    const history = page.getByRole('dialog', { name: 'Your packages' });
    await expect(history).toBeVisible();
    // The calls too, each with its split: the seeded one came from the plan.
    await history.getByRole('tab', { name: 'Recent calls' }).click();
    await expect(history).toContainText('450:00 = 450:00 plan');
    await page.keyboard.press('Escape');
    assert.match(page.url(), /role=viewer/);

    // The role is in the address: opened again, the page signs the viewer in.
    const again = await billing('demo-running-low', '&role=viewer');
    assert.equal(await again.page.getByLabel('Signed in as').inputValue(), 'viewer');
    await expect(card(again.page)).toContainText('450 of 500 min used');
    await expect(
      again.page.locator('minute-topup').getByRole('button', { name: 'Buy more minutes' }),
    ).toHaveCount(0);

    // Back to the owner: buying is offered again, and the operator tools shown.
    await page.getByLabel('Signed in as').selectOption({ label: 'Owner (can buy)' });
    await expect(card(page).getByRole('button', { name: 'Buy more minutes' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Operator tools' })).toBeVisible();

    for (const text of await Promise.all([...answers, ...again.answers])) {
      assert.doesNotMatch(text, new RegExp(DEMO_TEST_SECRET), 'the secret key reached the page');
    }
    await page.close();
    await again.page.close();
  });

  it("shows an operator's grant in the widget at once: balance, history, description", async () => {
    const { page } = await billing('demo-fresh');
    await expect(card(page)).toContainText('Extra balance: 0 min');
    await fillGrant(page, '30', 'Outage on 20 November');
    await page.getByRole('button', { name: 'Grant minutes' }).click();

    await expect(done(page)).toContainText(
      'Granted 30 free minutes (Outage on 20 November). Extra balance: 30 min.',
    );
    // The widget follows its live balance: no reload.
    await expect(card(page)).toContainText('Extra balance: 30 min');
    await expect(card(page)).toContainText('1 active package');
    await expect(page.locator('#story')).toContainText('30 extra minutes in 1 package');
    const row = purchasesTable(page).getByRole('row', { name: /Outage on 20 November/ });
    await expect(row).toContainText('Free');
    await expect(row).toContainText('30 of 30 min');
    // The form is ready for the next grant.
    assert.equal(await page.getByLabel('Reason', { exact: true }).inputValue(), '');

    await card(page).getByRole('button', { name: 'View packages' }).click();
    const history = page.getByRole('dialog', { name: 'Your packages' });
    await expect(history).toBeVisible();
    await expect(history).toContainText('Grant');
    await expect(history).toContainText('Total remaining: 30 min');
    await page.keyboard.press('Escape');
    await assertAccessible(page, 'after a grant');
    await page.close();
  });

  it('refunds a package: refunded, with the money returned, and its minutes gone', async () => {
    const { page } = await billing('demo-on-extra');
    await expect(card(page)).toContainText('Extra balance: 310 min');
    const picker = page.getByLabel('Package', { exact: true });
    await eventually(async () =>
      assert.deepEqual(
        (await picker.locator('option').allTextContents()).map((t) => t.split(' (')[0]),
        ['Large', 'Medium'],
        'the active packages are offered, not the used one',
      ),
    );
    const medium = (await picker.locator('option', { hasText: /^Medium/ }).textContent())!;
    await picker.selectOption({ label: medium });
    await page.getByRole('button', { name: 'Refund package' }).click();

    await expect(done(page)).toContainText(
      'Refunded $15.00 of $25.00 for Medium: its 60 min left are void. Extra balance: 250 min.',
    );
    await expect(card(page)).toContainText('Extra balance: 250 min');
    await expect(card(page)).toContainText('1 active package');
    const row = purchasesTable(page).getByRole('row', { name: /^Medium/ });
    await expect(row).toContainText('Refunded $15.00');
    await expect(row).toContainText('0 of 100 min');
    // It cannot be refunded twice: it is no longer offered.
    await eventually(async () =>
      assert.deepEqual(
        (await picker.locator('option').allTextContents()).map((t) => t.split(' (')[0]),
        ['Large'],
      ),
    );

    await card(page).getByRole('button', { name: 'View packages' }).click();
    const history = page.getByRole('dialog', { name: 'Your packages' });
    await expect(history.getByRole('row', { name: /Medium/ })).toContainText('Refunded');
    await page.keyboard.press('Escape');
    await assertAccessible(page, 'after a refund');
    await page.close();
  });

  it('grants once when the button is clicked twice', async () => {
    const { page } = await billing('demo-fresh');
    const grants: Request[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/demo/api/grants')) grants.push(r);
    });
    await fillGrant(page, '45', 'Goodwill');
    await page.getByRole('button', { name: 'Grant minutes' }).dblclick();
    await expect(done(page)).toContainText('Granted 45 free minutes');
    await expect(card(page)).toContainText('Extra balance: 45 min');
    const keys = new Set(grants.map((r) => r.headers()['idempotency-key']));
    assert.equal(keys.size, 1, 'one key for the one submission');
    assert.deepEqual(
      (await purchasesOf('demo-fresh')).map((p) => p.name),
      ['Grant: Goodwill'],
      'one grant in the ledger',
    );
    await page.close();
  });

  it('grants once when an answer was lost and the operator submits again', async () => {
    const { page } = await billing('demo-fresh');
    const keys: string[] = [];
    let lose = true;
    // The backend grants, but its answer never reaches the page (once).
    await page.route('**/demo/api/grants', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (!lose) return route.continue();
      lose = false;
      await route.fetch();
      await route.abort('connectionreset');
    });
    await fillGrant(page, '20', 'Lost answer');
    await page.getByRole('button', { name: 'Grant minutes' }).click();
    await expect(refused(page)).toContainText('It may have gone through: submit it again');
    // The grant happened: the widget shows it live all the same.
    await expect(card(page)).toContainText('Extra balance: 20 min');

    await page.getByRole('button', { name: 'Grant minutes' }).click();
    await expect(done(page)).toContainText('Granted 20 free minutes (Lost answer).');
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], 'the retry sent the same Idempotency-Key');
    await expect(card(page)).toContainText('Extra balance: 20 min');
    assert.deepEqual(
      (await purchasesOf('demo-fresh')).map((p) => p.name),
      ['Grant: Lost answer'],
    );

    // A new grant afterwards is a new submission: a new key, granted again.
    await fillGrant(page, '20', 'Lost answer');
    await page.getByRole('button', { name: 'Grant minutes' }).click();
    await expect(card(page)).toContainText('Extra balance: 40 min');
    assert.notEqual(keys[2], keys[0]);
    await page.close();
  });

  it('says clearly why a grant or a refund was refused, and changes nothing', async () => {
    const { page } = await billing('demo-fresh');
    // Spaces only: the browser lets it through; the backend refuses it.
    await fillGrant(page, '10', '   ');
    await page.getByRole('button', { name: 'Grant minutes' }).click();
    await expect(refused(page)).toContainText('Not done: reason');
    // Shown with the refusal: the panel says nothing was done.
    assert.equal(await done(page).textContent(), '', 'nothing said to be done');
    await assertAccessible(page, 'a refused grant');

    // Nothing to refund on a fresh account: the picker says so.
    const picker = page.getByLabel('Package', { exact: true });
    await expect(picker).toContainText('No active package to refund');
    assert.equal(await picker.isDisabled(), true);
    await page.getByRole('button', { name: 'Refund package' }).click();
    await expect(refused(page)).toContainText('no active package to refund');
    await expect(card(page)).toContainText('Extra balance: 0 min');
    assert.deepEqual(await purchasesOf('demo-fresh'), []);
    await page.close();
  });

  it('downloads the ledger as CSV through the demo backend', async () => {
    const { page } = await billing('demo-on-extra');
    const download = page.waitForEvent('download');
    await panel(page).getByRole('link', { name: 'Download ledger (CSV)' }).click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'minute-topup-demo-on-extra-ledger.csv');
    const csv = await readFile((await file.path())!, 'utf8');
    const [header, ...rows] = csv.trim().split('\n');
    assert.match(header, /^at,type,purchase_id/);
    assert.equal(rows.filter((r) => r.split(',')[1] === 'purchase').length, 3);
    // The seconds add up to the extra balance the card shows (310 min).
    const columns = header.split(',');
    const extra = rows.reduce(
      (sum, r) => sum + Number(r.split(',')[columns.indexOf('extra_seconds')] || 0),
      0,
    );
    assert.equal(extra, 310 * 60);
    await expect(card(page)).toContainText('Extra balance: 310 min');
    assert.match(await visibleText(panel(page)), /Download ledger \(CSV\)/);
    await page.close();
  });
});
