/**
 * End to end: auto top-up and the webhooks to the host (DESIGN §10) as the
 * demo shows them. Without MINUTE_TOPUP_WEBHOOK_URL the demo's backend is the
 * host's endpoint (`POST /demo/webhooks`, each signature verified); the
 * Billing page lists what it received. The real server on a fresh database,
 * the built widget, Chromium.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import type { AutoTopupDto, WebhookDeliveryListDto } from '../../contract/index.js';
import {
  DEMO_TEST_SECRET,
  launchChromium,
  openBillingPage,
  startDemoServer,
} from '../support/demo-server.js';
import { assertAccessible, eventually, expect } from '../support/page.js';
import { WEBHOOK_SECRET, webhookReceiver } from '../support/webhook-receiver.js';

/** What `GET /demo/api/webhooks` lists. */
interface Listed {
  receiving: boolean;
  webhooks: { id: string; type: string; accountId: string; summary: string; verified: boolean }[];
}

const key = { authorization: `Bearer ${DEMO_TEST_SECRET}` };

describe('demo webhooks, end to end', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let browser: Browser;
  /** Errors thrown in this test's pages, checked after it. */
  let pageErrors: string[] = [];

  // One server: each test works on an account of its own, or changes nothing.
  before(async () => {
    [demo, browser] = await Promise.all([startDemoServer(), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await demo?.stop();
  });
  beforeEach(() => {
    pageErrors = [];
  });
  afterEach(() => assert.deepEqual(pageErrors, [], 'no error in the page'));

  const billing = (account: string): Promise<Page> =>
    openBillingPage(browser, `${demo.base}/demo/billing?account=${account}`, { pageErrors });

  const card = (page: Page) => page.locator('minute-topup-card');
  const story = (page: Page) => page.locator('#story');
  const panel = (page: Page) => page.getByRole('region', { name: 'Webhooks received' });
  /** The panel's row of the event `type` whose line says `summary`. */
  const row = (page: Page, type: string, summary: string) =>
    panel(page).getByRole('row').filter({ hasText: type }).filter({ hasText: summary });

  const listed = async () =>
    (await (await fetch(`${demo.base}/demo/api/webhooks`)).json()) as Listed;

  const autoTopupOf = async (account: string) =>
    (await (
      await fetch(`${demo.base}/v1/accounts/${account}/auto-topup`, { headers: key })
    ).json()) as AutoTopupDto;

  it('buys by itself when a call reaches the threshold, and lists the signed webhooks', async () => {
    const page = await billing('demo-auto-topup');
    // The first test on a fresh server: nothing received yet.
    await expect(panel(page).getByText('None yet')).toBeVisible();
    await expect(card(page)).toContainText('Extra balance: 0 min');
    await expect(story(page)).toContainText(
      'Auto top-up buys Medium when 90 minutes or fewer are left (0 of 3 this cycle).',
    );

    // 110 minutes left; a 30-minute call leaves 80: under the `low` warning's
    // 100 and the threshold's 90.
    await page.getByLabel('Duration').selectOption({ label: '30 minutes' });
    await page.getByRole('button', { name: 'Simulate call' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Recorded' })).toContainText(
      'Recorded a 30:00 call',
    );

    // The auto purchase reaches the widget live…
    await expect(card(page)).toContainText('Extra balance: 100 min');
    await expect(card(page)).toContainText('1 active package');
    // …and its webhooks the panel, each verified, in the order they happened.
    const rows = [
      row(page, 'balance.warning_changed', 'Warning changed none → low'),
      row(page, 'purchase.succeeded', 'Purchase succeeded — Medium, auto top-up'),
      row(page, 'balance.warning_changed', 'Warning changed low → none'),
    ];
    for (const r of rows) {
      await expect(r).toHaveCount(1);
      await expect(r).toContainText('demo-auto-topup');
      await expect(r).toContainText('Verified');
    }
    const order = await panel(page)
      .getByRole('row')
      .filter({ hasText: 'demo-auto-topup' })
      .allInnerTexts();
    assert.deepEqual(
      order.map((text) => text.match(/(Warning changed \w+ → \w+|Purchase succeeded)/)?.[0]),
      ['Warning changed low → none', 'Purchase succeeded', 'Warning changed none → low'],
      'newest first',
    );
    await expect(panel(page).getByRole('status')).toContainText('signature verified');
    await expect(panel(page).getByText('None yet')).toBeHidden();

    // The description and the operator's list follow the webhook.
    await expect(story(page)).toContainText('100 extra minutes in 1 package');
    await expect(story(page)).toContainText('(1 of 3 this cycle)');
    await expect(
      page.getByRole('region', { name: 'Operator tools' }).getByRole('table'),
    ).toContainText('Medium');
    await expect(page.getByRole('heading', { name: 'Extra minutes' })).toBeVisible();
    await assertAccessible(page, 'webhooks listed after an auto top-up');

    // The API counted the auto purchase, and sent exactly what the page lists.
    const settings = await autoTopupOf('demo-auto-topup');
    assert.equal(settings.cycleCount, 1);
    assert.equal(settings.status, 'active');
    const res = await fetch(`${demo.base}/v1/webhooks/deliveries?status=delivered`, {
      headers: key,
    });
    const { deliveries } = (await res.json()) as WebhookDeliveryListDto;
    const sent = deliveries.filter((d) => d.accountId === 'demo-auto-topup').map((d) => d.id);
    const kept = (await listed()).webhooks
      .filter((w) => w.accountId === 'demo-auto-topup')
      .map((w) => w.id);
    assert.deepEqual(kept, sent);
    assert.equal(kept.length, 3);
    await page.close();
  });

  it('pauses auto top-up when the card is declined, and the webhooks say why', async () => {
    const page = await billing('demo-declined');
    await expect(story(page)).toContainText('Auto top-up buys Medium when 700 minutes');
    // The voice platform reports a 2-hour call through the API with the secret
    // key: 750 minutes left become 630, under the threshold of 700.
    const usage = await fetch(`${demo.base}/v1/accounts/demo-declined/usage`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'application/json' },
      body: JSON.stringify({ callId: 'e2e-declined-call', seconds: 7200 }),
    });
    assert.equal(usage.status, 200);

    for (const r of [
      row(page, 'purchase.failed', 'Purchase failed — Medium, auto top-up: The card was declined.'),
      row(page, 'auto_topup.paused', 'Auto top-up paused — The card was declined.'),
    ]) {
      await expect(r).toHaveCount(1);
      await expect(r).toContainText('demo-declined');
      await expect(r).toContainText('Verified');
    }
    await expect(story(page)).toContainText('Auto top-up paused: The card was declined.');
    await expect(card(page)).toContainText('Extra balance: 0 min');
    const settings = await autoTopupOf('demo-declined');
    assert.equal(settings.status, 'paused');
    assert.equal(settings.pausedReason, 'The card was declined.');
    assert.equal(settings.cycleCount, 0, 'a declined auto purchase does not count');

    // The widget's banner shows the pause, live, with its reason and a way
    // forward (its parts, inside the widget's shadow roots).
    const paused = page.locator('minute-topup [part~="paused"]');
    const resume = page.locator('minute-topup [part~="resume-button"]');
    await expect(paused).toBeVisible();
    await expect(paused).toContainText('Auto top-up is paused: The card was declined.');
    await expect(resume).toBeVisible();
    await expect(resume).toContainText('Turn back on');
    await expect(page.getByRole('button', { name: 'Turn back on' })).toHaveCount(1);
    await assertAccessible(page, 'auto top-up paused');

    // Turn back on: the API says it is active again, and the banner lets go.
    await resume.click();
    await eventually(async () => {
      const resumed = await autoTopupOf('demo-declined');
      assert.equal(resumed.status, 'active');
      assert.equal(resumed.enabled, true);
      assert.ok(!resumed.pausedReason, `still paused for ${resumed.pausedReason}`);
    });
    await expect(paused).toHaveCount(0);
    await expect(resume).toHaveCount(0);
    await page.close();
  });

  it('refuses a forged webhook with 400 and lists nothing of it', async () => {
    const body = JSON.stringify({
      type: 'purchase.succeeded',
      timestamp: new Date().toISOString(),
      data: { accountId: 'demo-fresh', auto: false, purchase: { name: 'Forged' } },
    });
    const now = new Date();
    const forgeries: [string, Record<string, string>][] = [
      [
        'a made-up signature',
        {
          'webhook-id': 'msg_forged_1',
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': `v1,${Buffer.from('not the signature').toString('base64')}`,
        },
      ],
      [
        'signed with another secret',
        {
          'webhook-id': 'msg_forged_2',
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': new Webhook(WEBHOOK_SECRET).sign('msg_forged_2', now, body),
        },
      ],
      ['no signature headers', { 'webhook-id': 'msg_forged_3' }],
    ];
    for (const [what, headers] of forgeries) {
      const res = await fetch(`${demo.base}/demo/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      assert.equal(res.status, 400, what);
      const answer = (await res.json()) as { error: { code: string } };
      assert.equal(answer.error.code, 'invalid_signature', what);
    }
    const { receiving, webhooks } = await listed();
    assert.equal(receiving, true);
    assert.deepEqual(
      webhooks.filter((w) => w.id.startsWith('msg_forged') || w.accountId === 'demo-fresh'),
      [],
    );
    assert.ok(webhooks.every((w) => w.verified));
  });
});

describe('demo webhooks, with the host’s own endpoint configured', () => {
  it('mounts no endpoint of its own, says where they go, and the host gets them', async () => {
    const host = await webhookReceiver();
    const [demo, browser] = await Promise.all([
      startDemoServer({
        MINUTE_TOPUP_WEBHOOK_URL: host.url,
        MINUTE_TOPUP_WEBHOOK_SECRET: WEBHOOK_SECRET,
      }),
      launchChromium(),
    ]);
    const pageErrors: string[] = [];
    try {
      const post = await fetch(`${demo.base}/demo/webhooks`, { method: 'POST', body: '{}' });
      assert.equal(post.status, 404);
      const list = (await (await fetch(`${demo.base}/demo/api/webhooks`)).json()) as Listed;
      assert.deepEqual(list, { receiving: false, webhooks: [] });

      const page = await openBillingPage(
        browser,
        `${demo.base}/demo/billing?account=demo-auto-topup`,
        { pageErrors },
      );
      const panel = page.getByRole('region', { name: 'Webhooks received' });
      await expect(panel).toContainText('the endpoint the host configured');
      await expect(panel).toContainText('MINUTE_TOPUP_WEBHOOK_URL');
      await assertAccessible(page, 'webhooks sent elsewhere');

      const call = await fetch(`${demo.base}/demo/api/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: 'demo-auto-topup', seconds: 1800 }),
      });
      assert.equal(call.status, 200);
      await host.until(() =>
        host.delivered().some((r) => r.event.type === 'purchase.succeeded' && r.event.data.auto),
      );
      await expect(page.locator('minute-topup-card')).toContainText('Extra balance: 100 min');
      assert.deepEqual(host.forged, [], 'every signature verified at the host');
      await page.close();
      assert.deepEqual(pageErrors, [], 'no error in the page');
    } finally {
      await browser.close();
      await demo.stop();
    }
  });
});
