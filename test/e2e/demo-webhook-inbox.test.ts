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
const OTHER_SECRET = `whsec_${Buffer.from('someone else entirely').toString('base64')}`;
/**
 * The inbox's clock: the time it checks a timestamp against and says it
 * received a webhook at. Long past, so never within five minutes of the real
 * clock: what the inbox keeps at NOW, the package's own `verify` (which reads
 * `Date.now()`) refuses as too old.
 */
const NOW = Date.parse('2024-03-14T09:15:30.000Z');
const MINUTE = 60_000;

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
function signed(id: string, body: WebhookEvent | object | string, at = NOW, secret = SECRET) {
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
      receivedAt: '2024-03-14T09:15:31.000Z',
      time: '09:15:31',
      accountId: 'demo-auto-topup',
      summary: 'Purchase succeeded — Medium, auto top-up',
      verified: true,
      data: bought.data,
    });
    assert.equal(older.id, 'msg_1');
    assert.equal(older.summary, 'Warning changed none → low');
  });

  it('refuses what does not verify, each for its reason, and keeps none of it', () => {
    const box = inbox();
    const [raw, headers] = signed('msg_1', warned);
    const refusals: [string, ReturnType<WebhookInbox['receive']>, string][] = [
      [
        'a forged signature',
        box.receive(raw, { ...headers, 'webhook-signature': 'v1,Zm9yZ2Vk' }, NOW),
        'No matching signature found',
      ],
      [
        'a signature of another version only',
        box.receive(
          raw,
          { ...headers, 'webhook-signature': headers['webhook-signature']!.replace('v1,', 'v2,') },
          NOW,
        ),
        'No matching signature found',
      ],
      [
        'no signature',
        box.receive(raw, { ...headers, 'webhook-signature': undefined }, NOW),
        'Missing required headers',
      ],
      ['no headers at all', box.receive(raw, {}, NOW), 'Missing required headers'],
      [
        'a timestamp that is no number',
        box.receive(raw, { ...headers, 'webhook-timestamp': 'soon' }, NOW),
        'Invalid Signature Headers',
      ],
      [
        'a body changed after signing',
        box.receive(raw.replace('"low"', '"empty"'), headers, NOW),
        'No matching signature found',
      ],
      [
        'another id than signed',
        box.receive(raw, { ...headers, 'webhook-id': 'msg_2' }, NOW),
        'No matching signature found',
      ],
      [
        'another secret, signed now',
        box.receive(...signed('msg_3', warned, NOW, OTHER_SECRET), NOW),
        'No matching signature found',
      ],
      [
        'a timestamp six minutes old',
        box.receive(...signed('msg_4', warned, NOW - 6 * MINUTE), NOW),
        'Message timestamp too old',
      ],
      [
        'a timestamp six minutes ahead',
        box.receive(...signed('msg_5', warned, NOW + 6 * MINUTE), NOW),
        'Message timestamp too new',
      ],
      [
        "signed at the real clock, received an hour later by the inbox's clock",
        box.receive(...signed('msg_6', warned, Date.now()), Date.now() + 60 * MINUTE),
        'Message timestamp too old',
      ],
    ];
    for (const [what, receipt, reason] of refusals) {
      assert.deepEqual(receipt, { refused: reason }, what);
    }
    assert.deepEqual(box.list(), []);
    // Within the five minutes, either way, by the inbox's clock: kept.
    assert.deepEqual(box.receive(...signed('msg_7', warned, NOW - 4 * MINUTE), NOW), {
      kept: 'new',
    });
    assert.deepEqual(box.receive(...signed('msg_8', warned, NOW + 4 * MINUTE), NOW), {
      kept: 'new',
    });
  });

  it("checks the timestamp against its own clock, not the package's Date.now()", () => {
    // Kept at NOW, though NOW is years from the real clock…
    const request = signed('msg_1', warned);
    assert.deepEqual(inbox().receive(...request, NOW), { kept: 'new' });
    // …which the package's verify (reading Date.now()) refuses.
    const [raw, headers] = request;
    assert.throws(
      () => new Webhook(SECRET).verify(raw, headers as Record<string, string>),
      /timestamp too old/,
    );
  });

  it('judges a request at the real clock as the standardwebhooks package does', () => {
    const now = Date.now();
    const [raw, headers] = signed('msg_1', warned, now);
    const requests: [string, string, WebhookHeaders][] = [
      ['as sent', raw, headers],
      [
        'two signatures, the second good',
        raw,
        {
          ...headers,
          'webhook-signature': `v1,Zm9yZ2Vk ${headers['webhook-signature']}`,
        },
      ],
      ['forged', raw, { ...headers, 'webhook-signature': 'v1,Zm9yZ2Vk' }],
      ['another body', raw.replace('"low"', '"empty"'), headers],
      ['another id', raw, { ...headers, 'webhook-id': 'msg_2' }],
      ['no id', raw, { ...headers, 'webhook-id': undefined }],
      ['an hour old', ...signed('msg_3', warned, now - 60 * MINUTE)],
      ['an hour ahead', ...signed('msg_4', warned, now + 60 * MINUTE)],
      ['another secret', ...signed('msg_5', warned, now, OTHER_SECRET)],
    ];
    for (const [what, body, h] of requests) {
      let expected: { kept: 'new' } | { refused: string } = { kept: 'new' };
      try {
        new Webhook(SECRET).verify(body, {
          'webhook-id': h['webhook-id'] ?? '',
          'webhook-timestamp': h['webhook-timestamp'] ?? '',
          'webhook-signature': h['webhook-signature'] ?? '',
        });
      } catch (error) {
        expected = { refused: (error as Error).message };
      }
      assert.deepEqual(inbox().receive(body, h, now), expected, what);
    }
  });

  it('acknowledges a redelivery of a webhook-id and lists it once', () => {
    const box = inbox();
    box.receive(...signed('msg_1', bought), NOW);
    const etag = box.etag;
    // At least once: the same id again, signed anew a minute later.
    assert.deepEqual(box.receive(...signed('msg_1', bought, NOW + MINUTE), NOW + MINUTE), {
      kept: 'again',
    });
    assert.equal(box.list().length, 1);
    assert.equal(box.list()[0].receivedAt, '2024-03-14T09:15:30.000Z', 'the first arrival');
    assert.equal(box.etag, etag, 'the list did not change');
  });

  it('remembers the ids of far more webhooks than it lists: a late redelivery is not listed again', () => {
    const box = inbox(3);
    for (let i = 1; i <= 5; i += 1) box.receive(...signed(`msg_${i}`, warned), NOW + i);
    const [ids, etag] = [box.list().map((w) => w.id), box.etag];
    assert.deepEqual(ids, ['msg_5', 'msg_4', 'msg_3']);
    // msg_1 and msg_2 have left the list; the API retries for a day.
    for (const id of ['msg_1', 'msg_2']) {
      assert.deepEqual(box.receive(...signed(id, warned, NOW + 9 * MINUTE), NOW + 9 * MINUTE), {
        kept: 'again',
      });
    }
    assert.deepEqual(
      box.list().map((w) => w.id),
      ids,
    );
    assert.equal(box.etag, etag);

    // The 10,000 last ids by default; fewer here, to see that memory is bounded.
    const small = new WebhookInbox({
      secret: SECRET,
      catalog: defaultCatalog,
      capacity: 2,
      seenCapacity: 4,
    });
    for (let i = 1; i <= 6; i += 1) small.receive(...signed(`msg_${i}`, warned), NOW + i);
    assert.deepEqual(small.receive(...signed('msg_3', warned), NOW), { kept: 'again' });
    assert.deepEqual(small.receive(...signed('msg_1', warned), NOW), { kept: 'new' }, 'forgotten');
  });

  it('acknowledges and lists a verified event it cannot describe, by its type', () => {
    const box = inbox();
    const received: [string, object | string][] = [
      ['msg_1', { type: 'purchase.succeeded', timestamp, data: { accountId: 'demo-fresh' } }],
      ['msg_2', { type: 'purchase.refunded', timestamp, data: { purchase: { name: 'Large' } } }],
      ['msg_3', { type: 'auto_topup.paused', timestamp, data: null }],
      ['msg_4', { type: 'account.closed', timestamp, data: { accountId: 'demo-fresh' } }],
      ['msg_5', { hello: 1 }],
      ['msg_6', 'not JSON'],
      ['msg_7', '[1,2]'],
    ];
    for (const [id, body] of received) {
      assert.deepEqual(box.receive(...signed(id, body), NOW), { kept: 'new' }, id);
    }
    assert.deepEqual(
      box
        .list()
        .map(({ id, type, accountId, summary, data }) => ({ id, type, accountId, summary, data }))
        .reverse(),
      [
        {
          id: 'msg_1',
          type: 'purchase.succeeded',
          accountId: 'demo-fresh',
          summary: 'purchase.succeeded (not described: its data is not what this demo expects)',
          data: { accountId: 'demo-fresh' },
        },
        {
          id: 'msg_2',
          type: 'purchase.refunded',
          accountId: null,
          summary: 'purchase.refunded (not described: its data is not what this demo expects)',
          data: { purchase: { name: 'Large' } },
        },
        {
          id: 'msg_3',
          type: 'auto_topup.paused',
          accountId: null,
          summary: 'auto_topup.paused (not described: its data is not what this demo expects)',
          data: null,
        },
        {
          id: 'msg_4',
          type: 'account.closed',
          accountId: 'demo-fresh',
          summary: 'account.closed',
          data: { accountId: 'demo-fresh' },
        },
        {
          id: 'msg_5',
          type: 'unknown',
          accountId: null,
          summary: 'unknown (not described: its data is not what this demo expects)',
          data: null,
        },
        {
          id: 'msg_6',
          type: 'unknown',
          accountId: null,
          summary: 'unknown (not described: the body is not a JSON object)',
          data: null,
        },
        {
          id: 'msg_7',
          type: 'unknown',
          accountId: null,
          summary: 'unknown (not described: the body is not a JSON object)',
          data: null,
        },
      ],
    );
    assert.ok(box.list().every((w) => w.verified));
    // Redelivered, it is acknowledged and listed once, like any other.
    assert.deepEqual(box.receive(...signed('msg_1', received[0][1]), NOW), { kept: 'again' });
    assert.equal(box.list().length, received.length);
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

  it('describes a malformed event in a generic line, and never throws', () => {
    const line = (e: unknown) => describeWebhook(e as WebhookEvent, defaultCatalog);
    const generic = (type: string) =>
      `${type} (not described: its data is not what this demo expects)`;
    const malformed: [unknown, string][] = [
      [{ type: 'purchase.succeeded', data: { accountId: 'a' } }, generic('purchase.succeeded')],
      [{ type: 'purchase.succeeded', data: { purchase: null } }, generic('purchase.succeeded')],
      [{ type: 'purchase.succeeded' }, generic('purchase.succeeded')],
      [{ type: 'purchase.failed', data: { packageId: 'medium' } }, generic('purchase.failed')],
      [{ type: 'purchase.failed', data: { reason: 'Declined.' } }, generic('purchase.failed')],
      [
        {
          type: 'purchase.refunded',
          data: { purchase: { name: 'Large', currency: 'NOT A CODE' } },
        },
        generic('purchase.refunded'),
      ],
      [
        {
          type: 'purchase.refunded',
          data: { purchase: { name: 'Large', currency: 'USD', refundMinor: 'x' } },
        },
        generic('purchase.refunded'),
      ],
      [
        { type: 'balance.warning_changed', data: { from: 'none' } },
        generic('balance.warning_changed'),
      ],
      [{ type: 'auto_topup.paused', data: 'paused' }, generic('auto_topup.paused')],
      [{ type: 42, data: {} }, generic('unknown')],
      [{}, generic('unknown')],
    ];
    for (const [event, expected] of malformed) {
      assert.equal(line(event), expected, JSON.stringify(event));
    }
    // A package that left the catalog is named by its id.
    assert.equal(
      line({ type: 'purchase.failed', data: { packageId: 'gone', reason: 'Declined.' } }),
      'Purchase failed — gone: Declined.',
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
