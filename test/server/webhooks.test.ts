/**
 * Webhooks to the host, on every store (DESIGN §10): each change's event is
 * written to the outbox in its transaction, signed per Standard Webhooks
 * (checked here with the `standardwebhooks` library), delivered at least
 * once, retried after 5xx and timeouts under the same `webhook-id`, in order
 * per account with one in flight per account, given up after the retry
 * window and listed by `GET /v1/webhooks/deliveries`.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { WebhookDeliveryDto, WebhookEvent, WebhookEventType } from '../../contract/index.js';
import { createApp, type App } from '../../server/app.js';
import { defaultCatalog } from '../../server/domain/index.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import type { LedgerStore } from '../../server/store/types.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { WebhookDelivery, type WebhookDeliveryOptions } from '../../server/webhooks/delivery.js';
import { SECRET, storeFactories } from '../support/api.js';
import { WEBHOOK_SECRET, webhookReceiver } from '../support/webhook-receiver.js';

for (const factory of storeFactories) {
  describe(`webhooks to the host (${factory.name} store)`, () => {
    let store: LedgerStore;
    let app: App;
    let gateway: TestPaymentGateway;
    let delivery: WebhookDelivery;
    let n = 0;

    /** The API with its delivery to `url` (real time: retries are due by the clock). */
    const start = (url: string, options: Partial<WebhookDeliveryOptions> = {}) => {
      gateway = new TestPaymentGateway();
      delivery = new WebhookDelivery({
        store,
        url,
        secret: WEBHOOK_SECRET,
        retryBaseMs: 20,
        // Generous: a loaded machine must not turn an answer into a timeout.
        timeoutMs: 5_000,
        ...options,
      });
      app = createApp({
        store,
        gateway,
        webhooks: delivery,
        config: { secretKey: SECRET, catalog: defaultCatalog },
      });
      delivery.start();
    };
    const call = async (method: string, path: string, body?: unknown, auth = SECRET) => {
      const res = await app.request(path, {
        method,
        headers: {
          authorization: `Bearer ${auth}`,
          'content-type': 'application/json',
          'idempotency-key': `k-${++n}`,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const account = async (id: string) =>
      assert.equal((await call('PUT', `/v1/accounts/${id}`, { planId: 'starter' })).status, 201);
    const use = async (id: string, seconds: number) =>
      assert.equal(
        (await call('POST', `/v1/accounts/${id}/usage`, { callId: `c-${++n}`, seconds })).status,
        200,
      );
    const buy = (id: string, packageId = 'small') =>
      call('POST', `/v1/accounts/${id}/purchases`, { packageId });
    const deliveries = async (query = '') => {
      const res = await call('GET', `/v1/webhooks/deliveries${query}`);
      assert.equal(res.status, 200);
      return res.body.deliveries as WebhookDeliveryDto[];
    };
    const typesOf = (events: WebhookEvent[], accountId: string) =>
      events.filter((e) => e.data.accountId === accountId).map((e) => e.type);

    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await delivery?.stop();
      await app?.ledger.autoTopupsSettled();
    });

    it('tells the host of every change, signed, in the order it happened', async () => {
      const host = await webhookReceiver();
      start(host.url);
      await account('acme');
      const auto = await call('PUT', '/v1/accounts/acme/auto-topup', {
        enabled: true,
        thresholdMinutes: 30,
        packageId: 'medium',
        monthlyLimit: 3,
      });
      assert.equal(auto.status, 200);
      // 30 of 500 minutes left: low, and auto top-up buys Medium (130 left: none again).
      await use('acme', 470 * 60);
      await app.ledger.autoTopupsSettled();
      gateway.setDeclining('acme');
      assert.equal((await buy('acme')).status, 402);
      gateway.setDeclining('acme', false);
      const bought = await buy('acme', 'large');
      assert.equal(bought.status, 201);
      const refunded = await call(
        'POST',
        `/v1/accounts/acme/purchases/${bought.body.purchase.id}/refund`,
      );
      assert.equal(refunded.status, 200);
      const expected: WebhookEventType[] = [
        'balance.warning_changed',
        'purchase.succeeded',
        'balance.warning_changed',
        'purchase.failed',
        'purchase.succeeded',
        'purchase.refunded',
      ];
      await host.until(() => host.delivered().length >= expected.length);
      assert.deepEqual(host.forged, [], 'every signature verifies with the library');
      const events = host.delivered().map((r) => r.event);
      assert.deepEqual(typesOf(events, 'acme'), expected);
      const [low, auto1, none, failed, manual, refund] = events;
      assert.equal(low.type, 'balance.warning_changed');
      if (low.type === 'balance.warning_changed') {
        assert.deepEqual([low.data.from, low.data.to], ['none', 'low']);
        assert.equal(low.data.balance.plan.remainingSeconds, 30 * 60);
      }
      if (auto1.type === 'purchase.succeeded') {
        assert.equal(auto1.data.auto, true);
        assert.equal(auto1.data.purchase.packageId, 'medium');
      }
      if (none.type === 'balance.warning_changed') {
        assert.deepEqual([none.data.from, none.data.to], ['low', 'none']);
      }
      if (failed.type === 'purchase.failed') {
        assert.equal(failed.data.auto, false);
        assert.match(failed.data.reason, /declined/i);
      }
      if (manual.type === 'purchase.succeeded') assert.equal(manual.data.auto, false);
      if (refund.type === 'purchase.refunded') {
        assert.equal(refund.data.purchase.status, 'refunded');
        assert.equal(refund.data.purchase.id, bought.body.purchase.id);
      }
      for (const r of host.delivered()) {
        assert.match(r.id, /^msg_/);
        assert.match(String(r.headers['webhook-signature']), /^v1,/);
        assert.ok(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000) < 300);
        assert.ok(Date.parse(r.event.timestamp) > 0);
      }
      await delivery.idle();
      const listed = await deliveries();
      assert.equal(listed.length, expected.length);
      assert.ok(listed.every((d) => d.status === 'delivered' && d.attempts >= 1));
      assert.deepEqual(
        listed.map((d) => d.type).reverse(),
        expected,
        'the outbox lists newest first',
      );
    });

    it('tells of a decline that pauses auto top-up', async () => {
      const host = await webhookReceiver();
      start(host.url);
      await account('acme');
      gateway.setDeclining('acme');
      await call('PUT', '/v1/accounts/acme/auto-topup', {
        enabled: true,
        thresholdMinutes: 30,
        packageId: 'medium',
        monthlyLimit: 3,
      });
      await use('acme', 480 * 60);
      await app.ledger.autoTopupsSettled();
      await host.until(() => host.delivered().length >= 3);
      const events = host.delivered().map((r) => r.event);
      assert.deepEqual(typesOf(events, 'acme'), [
        'balance.warning_changed',
        'purchase.failed',
        'auto_topup.paused',
      ]);
      const paused = events[2];
      if (paused.type === 'auto_topup.paused') {
        assert.match(paused.data.reason, /declined/i);
        assert.equal(paused.data.autoTopup.status, 'paused');
      }
      if (events[1].type === 'purchase.failed') assert.equal(events[1].data.auto, true);
    });

    it('retries after a 5xx and a timeout under the same webhook-id, then delivers', async () => {
      const host = await webhookReceiver((_id, _event, attempt) =>
        attempt === 1 ? 500 : attempt === 2 ? 'hang' : 204,
      );
      start(host.url, { timeoutMs: 400 });
      await account('acme');
      await buy('acme');
      await host.until(() => host.delivered().length === 1);
      const tries = host.received.filter((r) => r.id === host.delivered()[0].id);
      assert.deepEqual(
        tries.map((r) => r.status),
        [500, 'timeout', 204],
      );
      assert.equal(new Set(tries.map((r) => r.headers['webhook-id'])).size, 1);
      await delivery.idle();
      const [listed] = await deliveries('?status=delivered');
      assert.equal(listed.attempts, 3);
      assert.equal(listed.lastError, null);
      assert.ok(listed.deliveredAt);
    });

    it('keeps each account in order with one in flight, while other accounts go on', async () => {
      let first: string | null = null;
      const fastDelivered = () =>
        host.delivered().filter((r) => r.event.data.accountId === 'fast').length;
      const host = await webhookReceiver((id, event, attempt) => {
        if (event.data.accountId !== 'slow') return 204;
        first ??= id;
        // The slow account's first webhook fails at least three times, and
        // until the fast account's five have arrived (however slowly a busy
        // machine makes the purchases): the rest of its account waits.
        return id === first && (attempt <= 3 || fastDelivered() < 5) ? 503 : 204;
      });
      start(host.url, { retryBaseMs: 40 });
      await account('slow');
      await account('fast');
      for (let i = 0; i < 5; i += 1) {
        assert.equal((await buy('slow')).status, 201);
        assert.equal((await buy('fast')).status, 201);
      }
      await host.until(() => host.delivered().length === 10);
      const outbox = (await deliveries()).reverse();
      const order = (id: string) => outbox.filter((d) => d.accountId === id).map((d) => d.id);
      const arrived = (id: string) =>
        host
          .delivered()
          .filter((r) => r.event.data.accountId === id)
          .map((r) => r.id);
      assert.deepEqual(arrived('slow'), order('slow'));
      assert.deepEqual(arrived('fast'), order('fast'));
      const firstSlow = host.delivered().findIndex((r) => r.event.data.accountId === 'slow');
      const lastFast = host
        .delivered()
        .map((r) => r.event.data.accountId)
        .lastIndexOf('fast');
      assert.ok(lastFast < firstSlow, 'the fast account did not wait for the slow one');
      assert.equal(host.maxOpenPerAccount, 1);
      assert.ok(host.received.filter((r) => r.id === first).length >= 4);
    });

    it('gives up after the retry window, lists it as failed, and sends the next one', async () => {
      let doomed: string | null = null;
      const host = await webhookReceiver((id) => {
        doomed ??= id;
        return id === doomed ? 500 : 204;
      });
      start(host.url, { giveUpAfterMs: 300 });
      await account('acme');
      await buy('acme');
      await buy('acme');
      await host.until(() => host.delivered().length === 1);
      await delivery.idle();
      const failed = await deliveries('?status=failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0].id, doomed);
      assert.equal(failed[0].lastError, 'HTTP 500');
      assert.equal(failed[0].nextAttemptAt, null);
      assert.ok(failed[0].attempts >= 2);
      assert.notEqual(host.delivered()[0].id, doomed);
      assert.equal((await deliveries('?status=pending')).length, 0);
      assert.equal((await call('GET', '/v1/webhooks/deliveries?status=lost')).status, 400);
      assert.equal((await call('GET', '/v1/webhooks/deliveries?limit=0')).status, 400);
      const token = (await call('POST', '/v1/sessions', { accountId: 'acme' })).body.token;
      assert.equal((await call('GET', '/v1/webhooks/deliveries', undefined, token)).status, 403);
    });

    it('forgets delivered webhooks after a week and failed ones after 30 days', async () => {
      let doomed: string | null = null;
      const host = await webhookReceiver((id) => {
        doomed ??= id;
        return id === doomed ? 500 : 204;
      });
      start(host.url, { giveUpAfterMs: 200 });
      await account('acme');
      await buy('acme');
      await buy('acme');
      await host.until(() => host.delivered().length === 1);
      await delivery.idle();
      assert.equal((await deliveries('?status=failed')).length, 1);
      const at = (days: number) =>
        new WebhookDelivery({
          store,
          url: host.url,
          secret: WEBHOOK_SECRET,
          clock: { now: () => Date.now() + days * 86_400_000 },
        });
      assert.equal(await at(6).prune(), 0);
      assert.equal(await at(8).prune(), 1, 'the delivered one, after a week');
      assert.deepEqual(
        (await deliveries()).map((d) => d.status),
        ['failed'],
      );
      assert.equal(await at(31).prune(), 1, 'the failed one, after 30 days');
      assert.equal((await deliveries()).length, 0);
    });

    it('tells of a warning a plan change lifts', async () => {
      const host = await webhookReceiver();
      start(host.url);
      await account('acme');
      await use('acme', 450 * 60);
      assert.equal((await call('PUT', '/v1/accounts/acme', { planId: 'growth' })).status, 200);
      await host.until(() => host.delivered().length === 2);
      const changes = host.delivered().map((r) => r.event);
      assert.deepEqual(
        changes.map((e) => (e.type === 'balance.warning_changed' ? [e.data.from, e.data.to] : [])),
        [
          ['none', 'low'],
          ['low', 'none'],
        ],
      );
    });

    it('records an attempt only under the lease it was made under', async () => {
      const host = await webhookReceiver();
      start(host.url);
      await delivery.stop();
      await account('acme');
      await use('acme', 450 * 60);
      const now = Date.now();
      const [first] = await store.transact((tx) => tx.claimWebhooks(now, now + 1_000, 10));
      assert.ok(first);
      assert.deepEqual(
        await store.transact((tx) => tx.claimWebhooks(now + 500, now + 2_000, 10)),
        [],
        'leased: no other process gets it',
      );
      // The first lease ran out; another process claims it.
      const [again] = await store.transact((tx) => tx.claimWebhooks(now + 1_000, now + 9_000, 10));
      assert.equal(again?.id, first.id);
      const outcome = {
        status: 'pending' as const,
        attempts: 1,
        nextAttemptAtMs: now + 60_000,
        deliveredAtMs: null,
        lastError: 'HTTP 500',
      };
      assert.equal(
        await store.transact((tx) => tx.finishWebhook(first.id, now + 1_000, outcome)),
        false,
      );
      const delivered = {
        ...outcome,
        status: 'delivered' as const,
        deliveredAtMs: now,
        lastError: null,
      };
      assert.equal(
        await store.transact((tx) => tx.finishWebhook(first.id, now + 9_000, delivered)),
        true,
      );
      assert.equal((await deliveries())[0].status, 'delivered');
    });

    it('writes an event only with a change that commits, and none without an endpoint', async () => {
      const host = await webhookReceiver();
      start(host.url);
      await account('acme');
      const first = await call('POST', '/v1/accounts/acme/usage', { callId: 'dup', seconds: 60 });
      assert.equal(first.status, 200);
      // The same call id with other figures: refused, nothing written.
      const conflict = await call('POST', '/v1/accounts/acme/usage', { callId: 'dup', seconds: 9 });
      assert.equal(conflict.status, 409);
      assert.equal((await buy('acme', 'huge')).status, 404);
      await delivery.idle();
      assert.equal((await deliveries()).length, 0);
      // Without webhooks configured the ledger writes no outbox at all.
      await delivery.stop();
      app = createApp({
        store,
        gateway,
        config: { secretKey: SECRET, catalog: defaultCatalog },
      });
      await buy('acme');
      assert.equal((await deliveries()).length, 0);
      assert.equal(host.received.length, 0);
    });
  });
}

describe('webhook configuration', () => {
  const secret = `whsec_${Buffer.from('twenty-four random bytes').toString('base64')}`;
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig({ MINUTE_TOPUP_SECRET_KEY: SECRET, ...env });
    } catch (error) {
      return error instanceof ConfigError ? `${error.variable}: ${error.message}` : String(error);
    }
    return 'accepted';
  };

  it('takes both or neither, and names what is missing', () => {
    assert.equal(loadConfig({ MINUTE_TOPUP_SECRET_KEY: SECRET }).webhooks, null);
    assert.match(
      refusal({ MINUTE_TOPUP_WEBHOOK_URL: 'https://host.example/hooks' }),
      /^MINUTE_TOPUP_WEBHOOK_SECRET: MINUTE_TOPUP_WEBHOOK_SECRET must be set with MINUTE_TOPUP_WEBHOOK_URL/,
    );
    assert.match(
      refusal({ MINUTE_TOPUP_WEBHOOK_SECRET: secret }),
      /^MINUTE_TOPUP_WEBHOOK_URL: MINUTE_TOPUP_WEBHOOK_URL must be set/,
    );
    assert.match(
      refusal({
        MINUTE_TOPUP_WEBHOOK_URL: 'https://host.example/hooks',
        MINUTE_TOPUP_WEBHOOK_SECRET: 'secret',
      }),
      /must be a Standard Webhooks secret/,
    );
    assert.deepEqual(
      loadConfig({
        MINUTE_TOPUP_SECRET_KEY: SECRET,
        MINUTE_TOPUP_WEBHOOK_URL: 'https://host.example/hooks',
        MINUTE_TOPUP_WEBHOOK_SECRET: secret,
      }).webhooks,
      { url: 'https://host.example/hooks', secret, retryBaseMs: 30_000 },
    );
  });
});
