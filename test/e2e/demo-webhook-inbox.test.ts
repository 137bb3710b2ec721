/**
 * The demo's webhook endpoint without a server (demo/webhooks.ts): what it
 * keeps of a request signed per Standard Webhooks, what it refuses, and the
 * one line the Billing page shows for each event; and the description's
 * sentence about an account's auto top-up (demo/story.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { AutoTopupDto, BalanceDto, PurchaseDto, WebhookEvent } from '../../contract/index.js';
import { defaultCatalog } from '../../server/domain/catalog.js';
import { describeAutoTopup } from '../../demo/story.js';
import { describeWebhook, WebhookInbox, type WebhookHeaders } from '../../demo/webhooks.js';

const SECRET = `whsec_${Buffer.from('the demo inbox test secret').toString('base64')}`;
/** When the inbox says it received a webhook (the signatures are checked against the real clock). */
const NOW = Date.parse('2026-11-28T09:15:30.000Z');

const balance: BalanceDto = {
  plan: {
    id: 'starter',
    name: 'Starter',
    allowanceSeconds: 30_000,
    usedSeconds: 25_200,
    remainingSeconds: 4800,
    cycleStart: '2026-11-18T00:00:00.000Z',
    cycleEnd: '2026-12-18T00:00:00.000Z',
  },
  extra: { remainingSeconds: 0, activePackages: 0 },
  overageSeconds: 0,
  warning: 'low',
  version: 4,
};

const purchase: PurchaseDto = {
  id: 'p1',
  packageId: 'medium',
  kind: 'package',
  name: 'Medium',
  minutes: 100,
  priceMinor: 2500,
  currency: 'USD',
  purchasedAt: '2026-11-28T09:15:29.000Z',
  totalSeconds: 6000,
  remainingSeconds: 6000,
  status: 'active',
};

const autoTopup: AutoTopupDto = {
  enabled: true,
  thresholdMinutes: 90,
  packageId: 'medium',
  monthlyLimit: 3,
  status: 'active',
  cycleCount: 0,
};

type Event<T extends WebhookEvent['type']> = Extract<WebhookEvent, { type: T }>;
const timestamp = '2026-11-28T09:15:29.000Z';

const warned: Event<'balance.warning_changed'> = {
  type: 'balance.warning_changed',
  timestamp,
  data: { accountId: 'demo-auto-topup', from: 'none', to: 'low', balance },
};
const bought: Event<'purchase.succeeded'> = {
  type: 'purchase.succeeded',
  timestamp,
  data: { accountId: 'demo-auto-topup', purchase, auto: true },
};

/** A request as the API sends it: the body and its three signed headers. */
function signed(id: string, body: WebhookEvent | string, at = Date.now(), secret = SECRET) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: WebhookHeaders = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, new Date(at), raw),
  };
  return [raw, headers] as const;
}

const inbox = (capacity?: number) =>
  new WebhookInbox({ secret: SECRET, catalog: defaultCatalog, capacity });

describe('the demo webhook inbox', () => {
  it('keeps a verified webhook, newest first, with its one line and its data', () => {
    const box = inbox();
    assert.deepEqual(box.receive(...signed('msg_1', warned), NOW), { kept: 'new' });
    assert.deepEqual(box.receive(...signed('msg_2', bought), NOW + 1000), { kept: 'new' });
    const [newest, older] = box.list();
    assert.deepEqual(newest, {
      id: 'msg_2',
      type: 'purchase.succeeded',
      receivedAt: '2026-11-28T09:15:31.000Z',
      time: '09:15:31',
      accountId: 'demo-auto-topup',
      summary: 'Purchase succeeded — Medium, auto top-up',
      verified: true,
      data: bought.data,
    });
    assert.equal(older.id, 'msg_1');
    assert.equal(older.summary, 'Warning changed none → low');
  });

  it('refuses what does not verify, and keeps none of it', () => {
    const box = inbox();
    const [raw, headers] = signed('msg_1', warned);
    const refusals: [string, ReturnType<WebhookInbox['receive']>][] = [
      [
        'a forged signature',
        box.receive(raw, { ...headers, 'webhook-signature': 'v1,Zm9yZ2Vk' }, NOW),
      ],
      ['no signature', box.receive(raw, { ...headers, 'webhook-signature': undefined }, NOW)],
      ['no headers at all', box.receive(raw, {}, NOW)],
      ['a body changed after signing', box.receive(raw.replace('"low"', '"empty"'), headers, NOW)],
      ['another id than signed', box.receive(raw, { ...headers, 'webhook-id': 'msg_2' }, NOW)],
      [
        'another secret',
        box.receive(
          ...signed(
            'msg_3',
            warned,
            NOW,
            `whsec_${Buffer.from('someone else entirely').toString('base64')}`,
          ),
          NOW,
        ),
      ],
      [
        'a timestamp an hour old',
        box.receive(...signed('msg_4', warned, Date.now() - 3_600_000), NOW),
      ],
      ['a signed body that is no event', box.receive(...signed('msg_5', '{"hello":1}'), NOW)],
    ];
    for (const [what, receipt] of refusals) {
      assert.ok('refused' in receipt && receipt.refused.length > 0, what);
    }
    assert.deepEqual(box.list(), []);
  });

  it('acknowledges a redelivery of a webhook-id and lists it once', () => {
    const box = inbox();
    box.receive(...signed('msg_1', bought), NOW);
    const etag = box.etag;
    // At least once: the same id again, signed anew a minute later.
    assert.deepEqual(box.receive(...signed('msg_1', bought, Date.now() + 1000), NOW + 60_000), {
      kept: 'again',
    });
    assert.equal(box.list().length, 1);
    assert.equal(box.list()[0].receivedAt, '2026-11-28T09:15:30.000Z', 'the first arrival');
    assert.equal(box.etag, etag, 'the list did not change');
  });

  it('keeps the newest `capacity` webhooks, and the tag changes with the list', () => {
    const box = inbox(3);
    const tags = new Set([box.etag]);
    for (let i = 1; i <= 5; i += 1) {
      assert.deepEqual(box.receive(...signed(`msg_${i}`, warned), NOW + i), { kept: 'new' });
      tags.add(box.etag);
    }
    assert.deepEqual(
      box.list().map((w) => w.id),
      ['msg_5', 'msg_4', 'msg_3'],
    );
    assert.equal(tags.size, 6);
    // Another process's list (after a restart, say) never shares a tag.
    assert.notEqual(
      inbox().etag,
      new WebhookInbox({ secret: SECRET, catalog: defaultCatalog }).etag,
    );
  });

  it('describes every event type in one line', () => {
    const line = (e: WebhookEvent) => describeWebhook(e, defaultCatalog);
    assert.equal(line(warned), 'Warning changed none → low');
    assert.equal(line(bought), 'Purchase succeeded — Medium, auto top-up');
    assert.equal(
      line({ ...bought, data: { ...bought.data, auto: false } }),
      'Purchase succeeded — Medium',
    );
    assert.equal(
      line({
        type: 'purchase.failed',
        timestamp,
        data: {
          accountId: 'demo-declined',
          packageId: 'medium',
          name: 'Medium',
          reason: 'The card was declined.',
          auto: true,
        },
      }),
      'Purchase failed — Medium, auto top-up: The card was declined.',
    );
    assert.equal(
      line({
        type: 'purchase.refunded',
        timestamp,
        data: {
          accountId: 'demo-on-extra',
          purchase: { ...purchase, name: 'Large', status: 'refunded', refundMinor: 3000 },
        },
      }),
      'Purchase refunded — Large, $30.00 back',
    );
    assert.equal(
      line({
        type: 'auto_topup.paused',
        timestamp,
        data: {
          accountId: 'demo-declined',
          reason: 'The card was declined.',
          autoTopup: { ...autoTopup, status: 'paused', pausedReason: 'The card was declined.' },
        },
      }),
      'Auto top-up paused — The card was declined.',
    );
  });
});

describe("the description's auto top-up sentence", () => {
  it('says what the next call may buy, how often, and why it paused', () => {
    assert.equal(describeAutoTopup({ ...autoTopup, enabled: false }, 'Medium'), '');
    assert.equal(
      describeAutoTopup({ ...autoTopup, cycleCount: 1 }, 'Medium'),
      'Auto top-up buys Medium when 90 minutes or fewer are left (1 of 3 this cycle).',
    );
    assert.equal(
      describeAutoTopup({ ...autoTopup, thresholdMinutes: 1, monthlyLimit: 1 }, 'Large'),
      'Auto top-up buys Large when 1 minute or less is left (0 of 1 this cycle).',
    );
    assert.equal(
      describeAutoTopup(
        { ...autoTopup, status: 'paused', pausedReason: 'The card was declined.' },
        'Medium',
      ),
      'Auto top-up paused: The card was declined.',
    );
  });
});
