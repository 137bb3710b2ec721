/**
 * End to end: the real server on a fresh database, the built widget, the demo
 * pages, driven in Chromium as a person would — by roles, names and keys.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openBillingPage, startDemoServer } from '../support/demo-server.js';
import { expect } from '../support/page.js';

describe('demo dashboard, end to end', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  let base: string;
  /** Errors thrown in this test's pages, checked after it. */
  let pageErrors: string[] = [];

  before(async () => {
    browser = await launchChromium();
  });

  // Each test gets its own server on a fresh database, so none depends on another.
  beforeEach(async () => {
    pageErrors = [];
    demo = await startDemoServer();
    base = demo.base;
  });

  afterEach(async () => {
    await demo?.stop();
    assert.deepEqual(pageErrors, [], 'no error in the page');
  });

  after(async () => {
    await browser?.close();
  });

  /** The billing page of `account`, loaded and following its balance live. */
  const billing = (account: string): Promise<Page> =>
    openBillingPage(browser, `${base}/demo/billing?account=${account}`, { pageErrors });

  const card = (page: Page) => page.locator('minute-topup-card');
  const banner = (page: Page) => page.locator('minute-topup-banner');
  /** The account's description in the top bar. */
  const story = (page: Page) => page.locator('#story');

  /** Simulates a call of the duration labelled `label`, and waits for what the demo says. */
  async function simulate(page: Page, label: string) {
    await page.getByLabel('Duration').selectOption({ label });
    await page.getByRole('button', { name: 'Simulate call' }).click();
    const status = page.getByRole('status').filter({ hasText: 'Recorded' });
    await expect(status).toBeVisible();
    return status;
  }

  it('buys a package from the card, chosen by keyboard, and shows it at once', async () => {
    const page = await billing('demo-fresh');
    await expect(banner(page).getByRole('button')).toHaveCount(0);
    await expect(card(page)).toContainText('Extra balance: 0 min');
    await expect(story(page)).toContainText('no extra minutes');
    await card(page).getByRole('button', { name: 'Buy more minutes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Buy more minutes' });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('radio', { name: /Medium/ })).toBeChecked();
    await page.keyboard.press('ArrowDown');
    await expect(dialog.getByRole('radio', { name: /Large/ })).toBeChecked();
    await dialog.getByRole('button', { name: 'Buy 250 minutes for $50.00' }).click();
    await expect(dialog).toBeHidden();
    await expect(card(page)).toContainText('Extra balance: 250 min');
    await expect(card(page)).toContainText('1 active package');
    await expect(card(page).getByRole('button', { name: 'Buy more minutes' })).toBeFocused();
    // The description follows the purchase.
    await expect(story(page)).toContainText('250 extra minutes in 1 package');
    await page.close();
  });

  it('says the fresh account has used nothing, and then what a 4-hour call used', async () => {
    const page = await billing('demo-fresh');
    await expect(card(page)).toContainText('0 of 500 min used');
    await expect(story(page)).toContainText('nothing used yet');
    const status = await simulate(page, '4 hours');
    await expect(status).toContainText(
      'Recorded a 4:00:00 call: 4:00:00 from the plan, 0:00 from extra minutes.',
    );
    await expect(card(page)).toContainText('240 of 500 min used');
    await expect(story(page)).toContainText('240 of 500 plan minutes used');
    await expect(story(page)).notToContainText('nothing used');
    // Another account and back: the description is still the live one.
    await page.getByLabel('Account').selectOption({ label: 'Running low' });
    await expect(story(page)).toContainText('of the plan left');
    await page.getByLabel('Account').selectOption({ label: 'Fresh start' });
    await expect(story(page)).toContainText('240 of 500 plan minutes used');
    await page.close();
  });

  it('buys from the banner, and the warning goes once minutes suffice', async () => {
    const page = await billing('demo-running-low');
    await expect(banner(page)).toContainText('running low');
    await banner(page).getByRole('button', { name: 'Buy more minutes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Buy more minutes' });
    await dialog.getByRole('button', { name: 'Buy 100 minutes for $25.00' }).click();
    await expect(dialog).toBeHidden();
    await expect(card(page)).toContainText('Extra balance: 100 min');
    await expect(banner(page)).notToContainText('running low');
    await page.close();
  });

  /** Buys a package through the card's dialog, choosing it by its name. */
  async function buy(page: Page, name: RegExp, confirm: string) {
    await card(page).getByRole('button', { name: 'Buy more minutes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Buy more minutes' });
    await dialog.getByRole('radio', { name }).check();
    await dialog.getByRole('button', { name: confirm }).click();
    await expect(dialog).toBeHidden();
  }

  it('lists the new package in the history with its remaining balance', async () => {
    const page = await billing('demo-running-low');
    await buy(page, /Medium/, 'Buy 100 minutes for $25.00');
    await card(page).getByRole('button', { name: 'View packages' }).click();
    const history = page.getByRole('dialog', { name: 'Your packages' });
    await expect(history).toBeVisible();
    const row = history.getByRole('row', { name: /Medium/ });
    await expect(row).toContainText('$25.00');
    await expect(row).toContainText('100 min');
    await expect(row).toContainText('Active');
    await page.keyboard.press('Escape');
    await expect(history).toBeHidden();
    await page.close();
  });

  it('drains a simulated call from the plan, then from the package', async () => {
    const page = await billing('demo-running-low');
    await expect(story(page)).toContainText('the banner warns');
    await buy(page, /Medium/, 'Buy 100 minutes for $25.00');
    await expect(card(page)).toContainText('450 of 500 min used');
    await expect(story(page)).toContainText('450 of 500 plan minutes used; 100 extra minutes');
    const status = await simulate(page, '2 hours');
    await expect(status).toContainText(
      'Recorded a 2:00:00 call: 50:00 from the plan, 1:10:00 from extra minutes.',
    );
    await expect(story(page)).toContainText('Plan used up: calls draw on 30 extra minutes');
    await expect(card(page)).toContainText('500 of 500 min used');
    await expect(card(page)).toContainText('Extra balance: 30 min');
    await expect(banner(page)).toContainText('plan minutes are used up');
    await card(page).getByRole('button', { name: 'View packages' }).click();
    const row = page
      .getByRole('dialog', { name: 'Your packages' })
      .getByRole('row', { name: /Medium/ });
    await expect(row).toContainText('30 min');
    await page.close();
  });

  it('keeps two tabs of one account in step, without a reload', async () => {
    const [one, two] = [await billing('demo-running-low'), await billing('demo-running-low')];
    const balanceReads = new Map<Page, number>([
      [one, 0],
      [two, 0],
    ]);
    for (const page of [one, two]) {
      page.on('request', (r) => {
        if (r.url().endsWith('/balance')) balanceReads.set(page, balanceReads.get(page)! + 1);
      });
      await expect(card(page)).toContainText('450 of 500 min used');
      await expect(banner(page)).toContainText('running low');
    }
    // A purchase in the first tab…
    await buy(one, /Medium/, 'Buy 100 minutes for $25.00');
    for (const page of [one, two]) {
      await expect(card(page)).toContainText('Extra balance: 100 min');
      await expect(card(page)).toContainText('1 active package');
      await expect(banner(page)).notToContainText('running low');
    }
    // …and a call in the second: both follow.
    await simulate(two, '2 hours');
    for (const page of [one, two]) {
      await expect(card(page)).toContainText('500 of 500 min used');
      await expect(card(page)).toContainText('Extra balance: 30 min');
      await expect(banner(page)).toContainText('plan minutes are used up');
    }
    // The first tab's open history shows what the call left of the package.
    await card(one).getByRole('button', { name: 'View packages' }).click();
    const row = one
      .getByRole('dialog', { name: 'Your packages' })
      .getByRole('row', { name: /Medium/ });
    await expect(row).toContainText('30 min');
    assert.deepEqual([...balanceReads.values()], [0, 0], 'a tab read the balance again');
    await one.close();
    await two.close();
  });

  it('renders the partner portal with its own theme, strings and euro prices', async () => {
    const page = await browser.newPage();
    const errors = pageErrors;
    page.on('pageerror', (e) => errors.push(`partner page: ${e.message}`));
    await page.goto(`${base}/demo/partner`);
    const partnerCard = page.locator('minute-topup-card');
    await expect(partnerCard.getByRole('heading', { name: 'Zusatzminuten' })).toBeVisible();
    const background = await partnerCard.evaluate(
      (el) => getComputedStyle(el.shadowRoot!.querySelector('[part~="card"]')!).backgroundColor,
    );
    assert.equal(background, 'rgb(15, 47, 60)');
    await partnerCard.getByRole('button', { name: 'Minuten nachkaufen' }).click();
    const dialog = page.getByRole('dialog', { name: 'Minuten nachkaufen' });
    await expect(
      dialog.getByRole('button', { name: '100 Minuten für 23,00 € kaufen' }),
    ).toBeVisible();
    await expect(dialog).toContainText('0,23 € pro Minute');
    await page.close();
  });
});
