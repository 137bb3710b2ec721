import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { legacyChargeKeyOf } from '../../server/payments/gateway.js';
import { assertInvariants, fixture, SECRET, storeFactories, type Fixture } from '../support/api.js';

/** The schema-4 fields of an intent an earlier version recorded: none of them. */
const LEGACY_INTENT = {
  attempt: '',
  purchaseId: null,
  paymentRef: null,
  paymentState: null,
  customerId: null,
};

for (const factory of storeFactories) {
  describe(`HTTP API (${factory.name} store)`, () => {
    let f: Fixture;
    let token: string;

    beforeEach(async () => {
      f = await fixture(await factory.open());
      assert.equal(
        (await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'starter' } })).status,
        201,
      );
      assert.equal(
        (await f.call('PUT', '/v1/accounts/other', { body: { planId: 'growth' } })).status,
        201,
      );
      token = (await f.call('POST', '/v1/sessions', { body: { accountId: 'acme' } })).body.token;
    });

    const buy = (key: string, packageId = 'medium', auth?: string) =>
      f.call('POST', '/v1/accounts/acme/purchases', {
        body: { packageId },
        headers: { 'idempotency-key': key },
        auth,
      });
    const use = (callId: string, seconds: number, occurredAt?: string) =>
      f.call('POST', '/v1/accounts/acme/usage', { body: { callId, seconds, occurredAt } });
    const buyAs = (accountId: string, packageId: string, key: string) =>
      f.call('POST', `/v1/accounts/${accountId}/purchases`, {
        body: { packageId },
        headers: { 'idempotency-key': key },
      });
    const chargesOf = (accountId: string) =>
      [...f.gateway.charges.values()].filter((c) => c.accountId === accountId);

    describe('GET /v1/catalog', () => {
      it('lists packages with per-minute prices, plan tiers and the currency, without credentials', async () => {
        const res = await f.call('GET', '/v1/catalog', { auth: null });
        assert.equal(res.status, 200);
        assert.equal(res.body.currency, 'USD');
        assert.deepEqual(
          res.body.packages.map((p: { id: string; perMinuteMinor: number; popular: boolean }) => [
            p.id,
            p.perMinuteMinor,
            p.popular,
          ]),
          [
            ['small', 30, false],
            ['medium', 25, true],
            ['large', 20, false],
          ],
        );
        assert.equal(res.body.plans.length, 3);
      });
    });

    describe('PUT /v1/accounts/:id', () => {
      it('creates (201) and then changes (200) an account, keeping the anchor', async () => {
        const created = await f.call('PUT', '/v1/accounts/new-1', {
          body: { planId: 'starter', cycleAnchor: '2026-01-31T00:00:00Z' },
        });
        assert.equal(created.status, 201);
        assert.equal(created.body.cycleAnchor, '2026-01-31T00:00:00.000Z');
        const changed = await f.call('PUT', '/v1/accounts/new-1', { body: { planId: 'scale' } });
        assert.equal(changed.status, 200);
        assert.deepEqual(changed.body, {
          id: 'new-1',
          planId: 'scale',
          cycleAnchor: '2026-01-31T00:00:00.000Z',
          stripeCustomerId: null,
        });
      });
      it('links a Stripe customer, keeps it when the body leaves it out, unlinks it with null', async () => {
        const linked = await f.call('PUT', '/v1/accounts/new-2', {
          body: { planId: 'starter', stripeCustomerId: 'cus_Abc123' },
        });
        assert.equal(linked.status, 201);
        assert.equal(linked.body.stripeCustomerId, 'cus_Abc123');
        const kept = await f.call('PUT', '/v1/accounts/new-2', { body: { planId: 'growth' } });
        assert.equal(kept.body.stripeCustomerId, 'cus_Abc123');
        const shown = await f.call('GET', '/v1/accounts/new-2');
        assert.equal(shown.status, 200);
        assert.deepEqual(shown.body, { ...kept.body, planId: 'growth' });
        const bad = await f.call('PUT', '/v1/accounts/new-2', {
          body: { planId: 'growth', stripeCustomerId: 'acct_1' },
        });
        assert.equal(bad.status, 400);
        assert.equal(
          (await f.call('GET', '/v1/accounts/new-2')).body.stripeCustomerId,
          'cus_Abc123',
        );
        const unlinked = await f.call('PUT', '/v1/accounts/new-2', {
          body: { planId: 'growth', stripeCustomerId: null },
        });
        assert.equal(unlinked.body.stripeCustomerId, null);
        assert.equal((await f.call('GET', '/v1/accounts/new-2')).body.stripeCustomerId, null);
      });
      it('shows an account to the secret key only (403 for a widget token, 404 when unknown)', async () => {
        assert.equal((await f.call('GET', '/v1/accounts/acme', { auth: token })).status, 403);
        assert.equal((await f.call('GET', '/v1/accounts/nobody')).status, 404);
        assert.equal((await f.call('GET', '/v1/accounts/acme')).body.planId, 'starter');
      });
      it('refuses to move the cycle anchor of an existing account (409), and changes nothing', async () => {
        await use('before', 600);
        const moved = await f.call('PUT', '/v1/accounts/acme', {
          body: { planId: 'starter', cycleAnchor: '2026-03-01T00:00:00Z' },
        });
        assert.equal(moved.status, 409);
        assert.equal(moved.body.error.code, 'conflict');
        const balance = (await f.call('GET', '/v1/accounts/acme/balance')).body;
        assert.equal(balance.plan.usedSeconds, 600);
        assert.equal(balance.plan.cycleStart, '2026-03-10T12:00:00.000Z');
        const same = await f.call('PUT', '/v1/accounts/acme', {
          body: { planId: 'growth', cycleAnchor: '2026-03-10T12:00:00Z' },
        });
        assert.equal(same.status, 200, 'the same anchor again is fine');
      });
      it('refuses an unknown plan with 404 and a widget token with 403', async () => {
        const res = await f.call('PUT', '/v1/accounts/x', { body: { planId: 'gold' } });
        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'plan_not_found');
        const forbidden = await f.call('PUT', '/v1/accounts/acme', {
          body: { planId: 'scale' },
          auth: token,
        });
        assert.equal(forbidden.status, 403);
      });
    });

    describe('POST /v1/sessions', () => {
      it('mints a token scoped to one account that reads it and nothing else', async () => {
        const res = await f.call('POST', '/v1/sessions', {
          body: { accountId: 'acme', ttlSeconds: 120 },
        });
        assert.equal(res.status, 201);
        assert.equal(res.body.accountId, 'acme');
        assert.equal(
          Date.parse(res.body.expiresAt),
          Math.floor(f.clock.now() / 1000) * 1000 + 120_000,
        );
        const own = await f.call('GET', '/v1/accounts/acme/balance', { auth: res.body.token });
        assert.equal(own.status, 200);
        const theirs = await f.call('GET', '/v1/accounts/other/balance', { auth: res.body.token });
        assert.equal(theirs.status, 403);
        assert.equal(theirs.body.error.code, 'forbidden');
      });
      it('carries only the account, audience, scope and times', async () => {
        const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
        assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'scope', 'sub']);
        assert.equal(payload.scope, 'buy');
      });
      it('expires: an old token is a 401', async () => {
        f.clock.advance(901_000);
        const res = await f.call('GET', '/v1/accounts/acme/balance', { auth: token });
        assert.equal(res.status, 401);
        assert.match(res.body.error.message, /expired/);
      });
      it('needs the secret key, not a widget token, and a known account', async () => {
        assert.equal(
          (await f.call('POST', '/v1/sessions', { body: { accountId: 'acme' }, auth: token }))
            .status,
          403,
        );
        assert.equal(
          (await f.call('POST', '/v1/sessions', { body: { accountId: 'nobody' } })).status,
          404,
        );
      });
    });

    describe('authentication', () => {
      it('answers 401 for missing, malformed and forged credentials', async () => {
        const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        for (const auth of [null, '', 'not a token', forged, SECRET + 'x']) {
          const res = await f.call('GET', '/v1/accounts/acme/balance', { auth });
          assert.equal(res.status, 401, `auth ${auth}`);
          assert.equal(res.body.error.code, 'unauthorized');
        }
        // A wrong secret key is not called a token; a forged token is.
        const wrongKey = await f.call('GET', '/v1/accounts/acme/balance', { auth: SECRET + 'x' });
        assert.match(wrongKey.body.error.message, /neither the secret key nor a widget token/);
        const badToken = await f.call('GET', '/v1/accounts/acme/balance', { auth: forged });
        assert.match(badToken.body.error.message, /token is not valid/);
      });
      it('reads the Bearer scheme without regard to case', async () => {
        const res = await f.call('GET', '/v1/accounts/acme/balance', {
          auth: null,
          headers: { authorization: `bearer ${token}` },
        });
        assert.equal(res.status, 200);
      });
      it('keeps the usage route to the secret key', async () => {
        const res = await f.call('POST', '/v1/accounts/acme/usage', {
          body: { callId: 'c', seconds: 1 },
          auth: token,
        });
        assert.equal(res.status, 403);
      });
    });

    describe('GET /v1/accounts/:id/balance', () => {
      it('starts with the whole allowance and no extra minutes', async () => {
        const res = await f.call('GET', '/v1/accounts/acme/balance', { auth: token });
        assert.deepEqual(res.body, {
          plan: {
            id: 'starter',
            name: 'Starter',
            allowanceSeconds: 30_000,
            usedSeconds: 0,
            remainingSeconds: 30_000,
            cycleStart: '2026-03-10T12:00:00.000Z',
            cycleEnd: '2026-04-10T12:00:00.000Z',
          },
          extra: { remainingSeconds: 0, activePackages: 0 },
          overageSeconds: 0,
          warning: 'none',
          version: 0,
        });
      });
      it('answers 404 for an unknown account and 400 for a malformed id', async () => {
        const res = await f.call('GET', '/v1/accounts/nobody/balance');
        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'account_not_found');
        assert.equal((await f.call('GET', '/v1/accounts/bad%20id!/balance')).status, 400);
      });
    });

    describe('POST /v1/accounts/:id/purchases', () => {
      it('credits the minutes at once and returns the purchase with the new balance', async () => {
        const res = await buy('key-1', 'large', token);
        assert.equal(res.status, 201);
        assert.equal(res.body.purchase.totalSeconds, 15_000);
        assert.equal(res.body.purchase.remainingSeconds, 15_000);
        assert.equal(res.body.purchase.status, 'active');
        assert.equal(res.body.purchase.priceMinor, 5000);
        assert.deepEqual(res.body.balance.extra, { remainingSeconds: 15_000, activePackages: 1 });
        assert.equal(res.body.balance.plan.allowanceSeconds, 30_000, 'plan allowance unchanged');
        assert.equal(f.gateway.chargeCount, 1);
      });
      it('replays the same key without a second charge', async () => {
        const first = await buy('key-1');
        f.clock.advance(1000);
        const again = await buy('key-1');
        assert.equal(again.status, 201);
        assert.deepEqual(again.body, first.body);
        assert.equal(f.gateway.chargeCount, 1);
        assert.equal((await f.call('GET', '/v1/accounts/acme/purchases')).body.purchases.length, 1);
      });
      it('answers 422 for the same key with another package', async () => {
        await buy('key-1', 'small');
        const res = await buy('key-1', 'large');
        assert.equal(res.status, 422);
        assert.equal(res.body.error.code, 'idempotency_key_reused');
        assert.equal(f.gateway.chargeCount, 1);
      });
      it('frees a declined key for another package', async () => {
        f.gateway.setDeclining('acme');
        assert.equal((await buy('key-0', 'small')).status, 402);
        f.gateway.setDeclining('acme', false);
        assert.equal((await buy('key-0', 'large')).status, 201);
        assert.equal(f.gateway.chargeCount, 1);
      });
      it('answers 402 for a declined card, changes nothing, and lets the same key succeed later', async () => {
        f.gateway.setDeclining('acme');
        const declined = await buy('key-1');
        assert.equal(declined.status, 402);
        assert.equal(declined.body.error.code, 'payment_declined');
        assert.equal(
          (await f.call('GET', '/v1/accounts/acme/balance')).body.extra.remainingSeconds,
          0,
        );
        f.gateway.setDeclining('acme', false);
        const retried = await buy('key-1');
        assert.equal(
          (await buy('key-1', 'large')).status,
          422,
          'the key now belongs to the purchase',
        );
        assert.equal(retried.status, 201);
        assert.equal(f.gateway.chargeCount, 1);
      });
      describe('a payment that waits for the customer to authenticate (202)', () => {
        const balance = async () => (await f.call('GET', '/v1/accounts/acme/balance')).body;
        const listed = async () =>
          (await f.call('GET', '/v1/accounts/acme/purchases')).body.purchases;
        beforeEach(() => f.gateway.setRequiresAction('acme'));

        it('answers 202 with the purchase to be and a client secret, credits nothing, and says the same on a retry', async () => {
          const first = await buy('key-3ds');
          assert.equal(first.status, 202, JSON.stringify(first.body));
          assert.equal(first.body.purchase.status, 'requires_action');
          assert.equal(first.body.purchase.remainingSeconds, 0);
          assert.match(first.body.clientSecret, /_secret$/);
          assert.equal((await balance()).extra.remainingSeconds, 0);
          assert.deepEqual(
            (await listed()).map((p: { id: string; status: string }) => [p.id, p.status]),
            [[first.body.purchase.id, 'requires_action']],
          );
          const again = await buy('key-3ds');
          assert.equal(again.status, 202);
          assert.deepEqual(again.body, first.body);
          assert.equal(f.gateway.chargeCount, 0);
          assertInvariants(await f.store.audit());
        });
        it('credits once the customer authenticated: the retry answers 201 with the announced purchase', async () => {
          const first = await buy('key-3ds');
          f.gateway.authenticate(first.body.clientSecret);
          const paid = await buy('key-3ds');
          assert.equal(paid.status, 201, JSON.stringify(paid.body));
          assert.equal(paid.body.purchase.id, first.body.purchase.id);
          assert.equal(paid.body.purchase.status, 'active');
          assert.equal(paid.body.balance.extra.remainingSeconds, 6000);
          assert.deepEqual(await buy('key-3ds'), paid, 'a replay');
          assert.equal(f.gateway.chargeCount, 1);
          assert.deepEqual(
            (await listed()).map((p: { status: string }) => p.status),
            ['active'],
          );
          assertInvariants(await f.store.audit());
        });
        it('answers 402 once authentication failed, shows the purchase failed, and lets the key try again', async () => {
          const first = await buy('key-3ds');
          f.gateway.authenticate(first.body.clientSecret, false);
          const failed = await buy('key-3ds');
          assert.equal(failed.status, 402);
          assert.equal(failed.body.error.code, 'payment_declined');
          assert.deepEqual(
            (await listed()).map((p: { status: string }) => p.status),
            ['failed'],
          );
          assert.equal((await balance()).extra.remainingSeconds, 0);
          f.gateway.setRequiresAction('acme', false);
          const retried = await buy('key-3ds');
          assert.equal(retried.status, 201);
          assert.equal(retried.body.purchase.id, first.body.purchase.id);
          assert.deepEqual(
            (await listed()).map((p: { status: string }) => p.status),
            ['active'],
          );
          assert.equal(f.gateway.chargeCount, 1);
          assertInvariants(await f.store.audit());
        });
        it('is completed by the start-up recovery once paid, and left waiting while not', async () => {
          const first = await buy('key-3ds');
          assert.equal(await f.app.ledger.completePendingPurchases(), 0, 'still waiting');
          f.gateway.authenticate(first.body.clientSecret);
          assert.equal(await f.app.ledger.completePendingPurchases(), 1);
          assert.equal((await balance()).extra.remainingSeconds, 6000);
          assert.equal((await buy('key-3ds')).status, 201, 'the retry replays');
          assert.equal(f.gateway.chargeCount, 1);
          assertInvariants(await f.store.audit());
        });
      });
      it('completes a purchase whose credit was lost after the charge, with no second charge', async () => {
        // The first attempt charges, then "crashes" before the credit.
        const store = f.store;
        const original = store.transact.bind(store);
        let calls = 0;
        store.transact = (fn) => {
          calls += 1;
          if (calls === 2) return Promise.reject(new Error('crash between charge and credit'));
          return original(fn);
        };
        const crashed = await buy('key-1');
        assert.equal(crashed.status, 500);
        assert.match(f.unexpected[0].message, /crash between charge and credit/);
        store.transact = original;
        assert.equal(f.gateway.chargeCount, 1);
        assert.equal(
          (await f.call('GET', '/v1/accounts/acme/balance')).body.extra.remainingSeconds,
          0,
        );
        const retried = await buy('key-1');
        assert.equal(retried.status, 201);
        assert.equal(f.gateway.chargeCount, 1, 'no second charge');
        assert.equal(retried.body.balance.extra.remainingSeconds, 6000);
      });
      it('keeps a purchase whose pending intent a concurrent declined attempt forgot', async () => {
        const store = f.store;
        const original = store.transact.bind(store);
        let calls = 0;
        // Between the charge and the credit, a declined attempt with the same
        // key deletes the pending intent.
        store.transact = (fn, options) =>
          ++calls === 2
            ? original((tx) => tx.deleteIntent('acme', 'key-r')).then(() => original(fn, options))
            : original(fn, options);
        const first = await buy('key-r');
        store.transact = original;
        assert.equal(first.status, 201);
        // The credit kept its answer under the key (as a completed intent, the
        // pending one being gone): a retry replays it, never asks the gateway.
        const kept = await store.transact((tx) => tx.findIntent('acme', 'key-r'));
        assert.equal(kept?.status, 'completed', 'the answer is kept under the key');
        assert.deepEqual(JSON.parse(kept.response ?? 'null'), first.body);
        const again = await buy('key-r');
        assert.equal(again.status, 201);
        assert.deepEqual(again.body, first.body);
        assert.equal(f.gateway.chargeCount, 1);
        assert.equal((await f.call('GET', '/v1/accounts/acme/purchases')).body.purchases.length, 1);
        assert.equal(
          (await f.call('GET', '/v1/accounts/acme/balance')).body.extra.remainingSeconds,
          6000,
        );
      });
      it("answers with the cycle's plan use, overage and warning, and records the warning's change", async () => {
        // Webhooks on, over the same store: the changes' events reach the outbox.
        const w = await fixture(f.store, {}, { webhooks: { kick: () => undefined } });
        const buyOn = (accountId: string, packageId: string, key: string) =>
          w.call('POST', `/v1/accounts/${accountId}/purchases`, {
            body: { packageId },
            headers: { 'idempotency-key': key },
          });
        const useOn = (accountId: string, callId: string, seconds: number) =>
          w.call('POST', `/v1/accounts/${accountId}/usage`, { body: { callId, seconds } });
        const warningChanges = async (accountId: string) =>
          (await w.store.transact((tx) => tx.listWebhooks(undefined, 100)))
            .filter((e) => e.accountId === accountId && e.type === 'balance.warning_changed')
            .map((e) => JSON.parse(e.body).data)
            .reverse();
        const recordedWarning = async (accountId: string) =>
          (await w.store.transact((tx) => tx.getAccount(accountId)))?.warning;
        assert.equal(
          (await w.call('PUT', '/v1/accounts/edge', { body: { planId: 'starter' } })).status,
          201,
        );
        // acme's plan (30 000 s) used up, 500 s of overage; edge's nearly used up.
        assert.equal((await useOn('acme', 'over', 30_500)).body.balance.warning, 'empty');
        assert.equal((await useOn('edge', 'most', 29_000)).body.balance.warning, 'low');

        const bought = await buyOn('acme', 'small', 'key-over');
        assert.equal(bought.status, 201);
        assert.equal(bought.body.balance.plan.usedSeconds, 30_000);
        assert.equal(bought.body.balance.plan.remainingSeconds, 0);
        assert.equal(bought.body.balance.overageSeconds, 500);
        assert.deepEqual(bought.body.balance.extra, { remainingSeconds: 3000, activePackages: 1 });
        assert.equal(bought.body.balance.warning, 'exhausted');
        assert.equal(await recordedWarning('acme'), 'exhausted');
        const [, changed] = await warningChanges('acme');
        assert.deepEqual(
          [changed?.from, changed?.to, changed?.balance],
          ['empty', 'exhausted', bought.body.balance],
          'the purchase announced the change with the balance it answered',
        );

        // 30 days 23 hours into the 31-day cycle that began 2026-03-10T12:00Z:
        // its counters are still the ones the purchases read.
        w.clock.set(Date.parse('2026-04-10T11:00:00Z'));
        const late = await buyOn('edge', 'small', 'key-edge');
        assert.equal(late.status, 201);
        assert.equal(late.body.balance.plan.cycleStart, '2026-03-10T12:00:00.000Z');
        assert.equal(late.body.balance.plan.usedSeconds, 29_000);
        assert.equal(late.body.balance.plan.remainingSeconds, 1000);
        // 1000 s of plan and 3000 s of extra: still at most 20 % of the allowance.
        assert.equal(late.body.balance.warning, 'low');
        assert.equal(await recordedWarning('edge'), 'low');
        assert.deepEqual(
          (await warningChanges('edge')).map((c) => [c.from, c.to]),
          [['none', 'low']],
          'the purchase changed no warning: it announced none',
        );
        const lateAcme = await buyOn('acme', 'small', 'key-over-late');
        assert.equal(lateAcme.status, 201);
        assert.equal(lateAcme.body.balance.plan.usedSeconds, 30_000);
        assert.equal(lateAcme.body.balance.overageSeconds, 500);
        assert.equal(lateAcme.body.balance.warning, 'exhausted');
        assert.deepEqual(
          (await warningChanges('acme')).map((c) => [c.from, c.to]),
          [
            ['none', 'empty'],
            ['empty', 'exhausted'],
          ],
        );
        assertInvariants(await w.store.audit());
      });
      it('starts even when an interrupted purchase cannot be completed', async () => {
        const store = f.store;
        const original = store.transact.bind(store);
        let calls = 0;
        store.transact = (fn, options) =>
          ++calls === 2 ? Promise.reject(new Error('crash')) : original(fn, options);
        await buy('key-y');
        store.transact = original;
        // An intent the earlier version recorded, which kept no package with it.
        await store.transact((tx) =>
          tx.insertIntent({
            accountId: 'acme',
            idempotencyKey: 'key-x',
            packageId: 'medium',
            status: 'pending',
            response: null,
            createdAtMs: f.clock.now(),
            ...LEGACY_INTENT,
          }),
        );
        // The package is gone from the catalog by the time the server restarts.
        const catalog = f.app.ledger.catalog;
        const saved = catalog.packages;
        catalog.packages = saved.filter((p) => p.id !== 'medium');
        const failed: string[] = [];
        try {
          assert.equal(
            await f.app.ledger.completePendingPurchases((intent) =>
              failed.push(intent.idempotencyKey),
            ),
            1,
            'the intent that recorded its package completes',
          );
        } finally {
          catalog.packages = saved;
        }
        assert.deepEqual(failed, ['key-x']);
        const [credited] = await store.transact((tx) => tx.listPurchases('acme'));
        assert.equal(credited.idempotencyKey, 'key-y');
        assert.equal(credited.name, 'Medium');
        assert.equal(credited.totalSeconds, 6000);
      });
      it('completes interrupted purchases at start-up', async () => {
        const store = f.store;
        const original = store.transact.bind(store);
        let calls = 0;
        store.transact = (fn) =>
          ++calls === 2 ? Promise.reject(new Error('crash')) : original(fn);
        await buy('key-9');
        store.transact = original;
        assert.equal(await f.app.ledger.completePendingPurchases(), 1);
        assert.equal(await f.app.ledger.completePendingPurchases(), 0);
        assert.equal(
          (await f.call('GET', '/v1/accounts/acme/balance')).body.extra.remainingSeconds,
          6000,
        );
        assert.equal(f.gateway.chargeCount, 1);
      });
      describe('an interrupted purchase after the catalog price changed', () => {
        // The first attempt charges at 25.00, then "crashes" before the credit;
        // the operator then raises the price of the package to 26.00.
        let saved: typeof f.app.ledger.catalog.packages;
        beforeEach(async () => {
          const store = f.store;
          const original = store.transact.bind(store);
          let calls = 0;
          store.transact = (fn, options) =>
            ++calls === 2 ? Promise.reject(new Error('crash')) : original(fn, options);
          assert.equal((await buy('key-p')).status, 500);
          store.transact = original;
          f.unexpected.length = 0;
          assert.equal(f.gateway.chargeCount, 1);
          const catalog = f.app.ledger.catalog;
          saved = catalog.packages;
          catalog.packages = saved.map((p) =>
            p.id === 'medium' ? { ...p, name: 'Medium+', minutes: 110, priceMinor: 2600 } : p,
          );
        });
        const assertCreditedAsCharged = async () => {
          f.app.ledger.catalog.packages = saved;
          const [charge] = chargesOf('acme');
          assert.equal(chargesOf('acme').length, 1);
          assert.equal(f.gateway.chargeCount, 1, 'one charge');
          assert.equal(charge.amountMinor, 2500);
          const purchases = await f.store.transact((tx) => tx.listPurchases('acme'));
          assert.equal(purchases.length, 1);
          assert.equal(purchases[0].paymentRef, charge.reference);
          assert.deepEqual(
            [purchases[0].name, purchases[0].minutes, purchases[0].priceMinor],
            ['Medium', 100, 2500],
          );
          const balance = (await f.call('GET', '/v1/accounts/acme/balance')).body;
          assert.equal(balance.extra.remainingSeconds, 6000);
          assert.deepEqual(f.unexpected, []);
        };
        it('is credited by the start-up recovery at the price charged', async () => {
          const errors: unknown[] = [];
          try {
            assert.equal(await f.app.ledger.completePendingPurchases((_, e) => errors.push(e)), 1);
          } finally {
            f.app.ledger.catalog.packages = saved;
          }
          assert.deepEqual(errors, []);
          await assertCreditedAsCharged();
        });
        it('is credited by a retry at the price charged', async () => {
          let retried;
          try {
            retried = await buy('key-p');
          } finally {
            f.app.ledger.catalog.packages = saved;
          }
          assert.equal(retried.status, 201, JSON.stringify(retried.body));
          assert.equal(retried.body.purchase.priceMinor, 2500);
          await assertCreditedAsCharged();
        });
      });
      describe('a purchase charged by the earlier version under its key "account:key"', () => {
        // The earlier version recorded the intent (no package with it) and
        // charged under `${accountId}:${key}`, then stopped before the credit.
        const pendingIntent = (accountId: string, idempotencyKey: string, packageId = 'medium') =>
          f.store.transact((tx) =>
            tx.insertIntent({
              accountId,
              idempotencyKey,
              packageId,
              status: 'pending',
              response: null,
              createdAtMs: f.clock.now(),
              ...LEGACY_INTENT,
            }),
          );
        const chargedEarlier = (accountId: string, key: string, amountMinor = 2500) => {
          const legacyKey = legacyChargeKeyOf(accountId, key);
          assert.equal(legacyKey, `${accountId}:${key}`);
          f.gateway.charges.set(legacyKey, {
            idempotencyKey: legacyKey,
            accountId,
            amountMinor,
            currency: 'USD',
            description: 'Medium: 100 voice minutes',
            reference: `old_ref_${accountId}`,
            attempt: '',
            purchaseKey: key,
            packageId: 'medium',
            customerId: null,
          });
        };
        const purchasesOf = (accountId: string) =>
          f.store.transact((tx) => tx.listPurchases(accountId));
        beforeEach(async () => {
          const put = await f.call('PUT', '/v1/accounts/p:q', { body: { planId: 'starter' } });
          assert.equal(put.status, 201);
        });
        it('is credited once by the start-up recovery, with no second charge', async () => {
          await pendingIntent('acme', 'key-old');
          chargedEarlier('acme', 'key-old');
          assert.equal(await f.app.ledger.completePendingPurchases(), 1);
          assert.equal(await f.app.ledger.completePendingPurchases(), 0);
          const [row] = await purchasesOf('acme');
          assert.equal(row.paymentRef, 'old_ref_acme');
          assert.equal((await purchasesOf('acme')).length, 1);
          const again = await buy('key-old');
          assert.equal(again.status, 201);
          assert.equal(again.body.balance.extra.remainingSeconds, 6000);
          assert.equal(f.gateway.chargeCount, 0, 'no new charge');
        });
        it('is credited once by a retry, with no second charge', async () => {
          await pendingIntent('acme', 'key-old');
          chargedEarlier('acme', 'key-old');
          const retried = await buy('key-old');
          assert.equal(retried.status, 201);
          assert.equal(retried.body.balance.extra.remainingSeconds, 6000);
          assert.equal(f.gateway.chargeCount, 0, 'no new charge');
          const [row] = await purchasesOf('acme');
          assert.equal(row.paymentRef, 'old_ref_acme');
          assert.equal(await f.app.ledger.completePendingPurchases(), 0);
        });
        it("takes no other account's charge under the ambiguous key", async () => {
          // "p" with key "q:k2" was charged under "p:q:k2" — the old key of "p:q" + "k2".
          const put = await f.call('PUT', '/v1/accounts/p', { body: { planId: 'starter' } });
          assert.equal(put.status, 201);
          chargedEarlier('p', 'q:k2');
          await pendingIntent('p:q', 'k2');
          assert.equal(await f.app.ledger.completePendingPurchases(), 0);
          assert.deepEqual(await purchasesOf('p:q'), []);
          const retried = await buyAs('p:q', 'medium', 'k2');
          assert.equal(retried.status, 201);
          assert.equal(f.gateway.chargeCount, 1, 'p:q pays for its own purchase');
          const [row] = await purchasesOf('p:q');
          assert.notEqual(row.paymentRef, 'old_ref_p');
        });
        it('refuses a charge of the account at another amount, rather than charging again', async () => {
          await pendingIntent('acme', 'key-old');
          chargedEarlier('acme', 'key-old', 2400);
          const errors: unknown[] = [];
          assert.equal(await f.app.ledger.completePendingPurchases((_, e) => errors.push(e)), 0);
          assert.equal((errors[0] as { code?: string }).code, 'charge_conflict');
          const retried = await buy('key-old');
          assert.equal(retried.status, 409);
          assert.equal(retried.body.error.code, 'charge_conflict');
          assert.doesNotMatch(retried.body.error.message, /nothing was charged/);
          assert.equal(f.gateway.chargeCount, 0);
          assert.deepEqual(await purchasesOf('acme'), []);
        });
      });
      describe('charge keys of accounts whose id or key holds a colon', () => {
        // "p" + "q:k2" and "p:q" + "k2" once made the same gateway key "p:q:k2".
        beforeEach(async () => {
          for (const id of ['p', 'p:q']) {
            const put = await f.call('PUT', `/v1/accounts/${id}`, { body: { planId: 'starter' } });
            assert.equal(put.status, 201);
          }
          const paid = await buyAs('p', 'small', 'q:k2');
          assert.equal(paid.status, 201);
        });
        it("declines an account set to decline, rather than replaying another account's charge", async () => {
          f.gateway.setDeclining('p:q');
          const res = await buyAs('p:q', 'large', 'k2');
          assert.equal(res.status, 402);
          assert.equal(res.body.error.code, 'payment_declined');
          const balance = (await f.call('GET', '/v1/accounts/p:q/balance')).body;
          assert.deepEqual(balance.extra, { remainingSeconds: 0, activePackages: 0 });
          assert.deepEqual((await f.call('GET', '/v1/accounts/p:q/purchases')).body.purchases, []);
          assert.equal(chargesOf('p').length, 1, 'p has exactly one charge');
          assert.equal(chargesOf('p')[0].amountMinor, 1500);
          assert.deepEqual(chargesOf('p:q'), []);
          assert.equal(f.gateway.chargeCount, 1);
        });
        it('charges an approving account separately, at the price of its own package', async () => {
          const res = await buyAs('p:q', 'large', 'k2');
          assert.equal(res.status, 201);
          assert.equal(res.body.purchase.packageId, 'large');
          assert.equal(res.body.balance.extra.remainingSeconds, 15_000);
          assert.equal(f.gateway.chargeCount, 2);
          const [theirs] = chargesOf('p:q');
          assert.equal(chargesOf('p:q').length, 1);
          assert.equal(theirs.amountMinor, 5000);
          assert.notEqual(theirs.reference, chargesOf('p')[0].reference);
          assert.equal(chargesOf('p').length, 1);
          const [row] = await f.store.transact((tx) => tx.listPurchases('p:q'));
          assert.equal(row.paymentRef, theirs.reference);
          assert.equal(
            (await f.call('GET', '/v1/accounts/p/balance')).body.extra.remainingSeconds,
            3000,
          );
        });
      });
      it('needs an Idempotency-Key and a known package', async () => {
        const noKey = await f.call('POST', '/v1/accounts/acme/purchases', {
          body: { packageId: 'small' },
        });
        assert.equal(noKey.status, 400);
        assert.match(noKey.body.error.message, /Idempotency-Key/);
        const unknown = await buy('key-2', 'huge');
        assert.equal(unknown.status, 404);
        assert.equal(unknown.body.error.code, 'package_not_found');
        assert.equal(f.gateway.chargeCount, 0);
      });
      it('refuses a token of another account', async () => {
        const res = await f.call('POST', '/v1/accounts/other/purchases', {
          body: { packageId: 'small' },
          headers: { 'idempotency-key': 'k' },
          auth: token,
        });
        assert.equal(res.status, 403);
        assert.equal(f.gateway.chargeCount, 0);
      });
    });

    describe('GET /v1/accounts/:id/purchases', () => {
      it('lists every package newest first with its remaining balance', async () => {
        await buy('a', 'small');
        f.clock.advance(1000);
        await buy('b', 'large');
        await use('call-1', 30_000 + 3000 + 10);
        const res = await f.call('GET', '/v1/accounts/acme/purchases', { auth: token });
        assert.deepEqual(
          res.body.purchases.map(
            (p: { packageId: string; remainingSeconds: number; status: string }) => [
              p.packageId,
              p.remainingSeconds,
              p.status,
            ],
          ),
          [
            ['large', 14_990, 'active'],
            ['small', 0, 'used'],
          ],
        );
      });
    });

    describe('POST /v1/accounts/:id/usage', () => {
      it('draws the plan, then packages oldest first, then records overage', async () => {
        await buy('a', 'small'); // 3000 s
        f.clock.advance(1000);
        await buy('b', 'small'); // 3000 s
        const res = await use('call-1', 30_000 + 4000);
        assert.equal(res.status, 200);
        const ids = (await f.call('GET', '/v1/accounts/acme/purchases')).body.purchases.map(
          (p: { id: string }) => p.id,
        );
        assert.deepEqual(res.body.usage.fromExtra, [
          { purchaseId: ids[1], seconds: 3000 },
          { purchaseId: ids[0], seconds: 1000 },
        ]);
        assert.equal(res.body.usage.fromPlanSeconds, 30_000);
        assert.equal(res.body.usage.overageSeconds, 0);
        assert.equal(res.body.balance.warning, 'exhausted');
        const more = await use('call-2', 2100);
        assert.equal(more.body.usage.overageSeconds, 100);
        assert.equal(more.body.balance.warning, 'empty');
        assert.equal(more.body.balance.overageSeconds, 100);
      });
      it('changes nothing for a repeated callId and returns the first result', async () => {
        const first = await use('call-1', 600);
        const again = await use('call-1', 600);
        assert.deepEqual(again.body, first.body);
        assert.equal((await f.call('GET', '/v1/accounts/acme/balance')).body.plan.usedSeconds, 600);
        const conflict = await use('call-1', 601);
        assert.equal(conflict.status, 409);
        assert.equal(conflict.body.error.code, 'conflict');
      });
      it('charges late usage to the cycle it occurred in', async () => {
        f.clock.advance(40 * 86_400_000);
        await use('late', 500, '2026-03-20T00:00:00Z');
        const balance = (await f.call('GET', '/v1/accounts/acme/balance')).body;
        assert.equal(balance.plan.usedSeconds, 0);
        assert.equal(balance.plan.cycleStart, '2026-04-10T12:00:00.000Z');
      });
      it('refuses instants before 2000 (no two-digit-year cycles)', async () => {
        const res = await use('ancient', 10, '0050-06-01T00:00:00Z');
        assert.equal(res.status, 400);
        assert.match(res.body.error.message, /2000/);
      });
      it('refuses usage in the future', async () => {
        const res = await use('future', 10, '2030-01-01T00:00:00Z');
        assert.equal(res.status, 400);
      });
      it('refuses usage dated before the account existed (422) and changes nothing', async () => {
        await use('seed', 100);
        f.clock.advance(86_400_000);
        const before = await f.store.audit();
        const balance = (await f.call('GET', '/v1/accounts/acme/balance')).body;
        // acme was created at 2026-03-10T12:00:00Z, by the test clock.
        for (const occurredAt of ['2000-01-01T00:00:00Z', '2026-03-10T11:59:59.999Z']) {
          const res = await use(`early-${occurredAt}`, 30_000, occurredAt);
          assert.equal(res.status, 422, occurredAt);
          assert.equal(res.body.error.code, 'occurred_before_account');
          assert.match(res.body.error.message, /before the account existed/);
        }
        assert.deepEqual(await f.store.audit(), before);
        assert.deepEqual((await f.call('GET', '/v1/accounts/acme/balance')).body, balance);
        const atCreation = await use('at-creation', 60, '2026-03-10T12:00:00Z');
        assert.equal(atCreation.status, 200);
        assert.deepEqual(f.unexpected, []);
      });
      it('never refuses usage without occurredAt when the clock lags the account creation', async () => {
        // Another process, its clock 5 ms ahead of ours, created acme.
        f.clock.advance(-5);
        const first = await use('skewed', 60);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.usage.occurredAt, '2026-03-10T12:00:00.000Z');
        const again = await use('skewed', 60);
        assert.equal(again.status, 200);
        assert.deepEqual(again.body, first.body);
        // With occurredAt the rule holds as before.
        const dated = await use('dated', 60, '2026-03-10T11:59:59.995Z');
        assert.equal(dated.status, 422);
        assert.deepEqual(f.unexpected, []);
      });
      it('accepts usage back to a cycle anchor the host set before creating the account', async () => {
        const put = await f.call('PUT', '/v1/accounts/moved', {
          body: { planId: 'starter', cycleAnchor: '2026-01-31T00:00:00Z' },
        });
        assert.equal(put.status, 201);
        const usage = (callId: string, occurredAt: string) =>
          f.call('POST', '/v1/accounts/moved/usage', {
            body: { callId, seconds: 600, occurredAt },
          });
        const inFebruary = await usage('feb', '2026-02-15T00:00:00Z');
        assert.equal(inFebruary.status, 200);
        assert.equal(inFebruary.body.usage.fromPlanSeconds, 600);
        const beforeAnchor = await usage('jan', '2026-01-30T23:59:59Z');
        assert.equal(beforeAnchor.status, 422);
        assert.equal(beforeAnchor.body.error.code, 'occurred_before_account');
      });
    });

    describe('GET /v1/accounts/:id/recommendation', () => {
      it('suggests the next tier when top-ups keep coming and it would not cost more', async () => {
        for (let i = 0; i < 3; i += 1) {
          await buy(`k${i}-1`, 'large');
          await buy(`k${i}-2`, 'large');
          await use(`c${i}`, 30_000 + 20_000);
          if (i < 2) f.clock.advance(31 * 86_400_000);
        }
        const fresh = (await f.call('POST', '/v1/sessions', { body: { accountId: 'acme' } })).body;
        const res = await f.call('GET', '/v1/accounts/acme/recommendation', { auth: fresh.token });
        assert.equal(res.status, 200);
        assert.equal(res.body.cyclesWithTopups, 3);
        assert.equal(res.body.averageTopupSpendMinor, 10_000);
        assert.equal(res.body.averageMonthlyCostMinor, 14_900);
        assert.equal(res.body.nextPlan.id, 'growth');
        assert.equal(res.body.monthlySavingMinor, 2000);
        assert.equal(res.body.averageUsageSeconds, 50_000);
        assert.equal(res.body.nextPlanCoversAverage, true);
        assert.equal(res.body.recommend, true);
      });
      it('does not suggest an upgrade to a fresh account', async () => {
        const res = await f.call('GET', '/v1/accounts/acme/recommendation', { auth: token });
        assert.equal(res.body.recommend, false);
        assert.equal(res.body.cyclesWithTopups, 0);
      });
    });

    describe('bad input', () => {
      const bad: [string, string, unknown, Record<string, string>?][] = [
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: -1 }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: 1.5 }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: '60' }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: 1e20 }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: 1, extra: true }],
        ['POST', '/v1/accounts/acme/usage', { callId: '', seconds: 1 }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x'.repeat(500), seconds: 1 }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: 1, occurredAt: 'yesterday' }],
        ['POST', '/v1/accounts/acme/usage', { seconds: 1 }],
        ['POST', '/v1/accounts/acme/usage', '{"callId": "x", "seconds": 1'],
        ['POST', '/v1/accounts/acme/usage', [1, 2, 3]],
        ['POST', '/v1/accounts/acme/usage', null],
        [
          'POST',
          '/v1/accounts/acme/usage',
          { callId: 'x', seconds: 1 },
          { 'content-type': 'text/plain' },
        ],
        ['POST', '/v1/accounts/acme/purchases', { packageId: 7 }, { 'idempotency-key': 'k' }],
        ['POST', '/v1/accounts/acme/purchases', { packageId: 'small' }, { 'idempotency-key': 'é' }],
        ['POST', '/v1/accounts/acme/purchases', {}, { 'idempotency-key': 'k' }],
        ['PUT', '/v1/accounts/acme', { planId: 'starter', cycleAnchor: '2026-13-45' }],
        ['PUT', '/v1/accounts/acme', { planId: ['starter'] }],
        ['POST', '/v1/sessions', { accountId: 'acme', ttlSeconds: 10 ** 9 }],
        ['POST', '/v1/sessions', { accountId: 'acme', ttlSeconds: 0.5 }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'x', seconds: 1, pad: 'x'.repeat(20_000) }],
      ];
      it('answers each with a 4xx in the error shape and leaves the ledger unchanged', async () => {
        await buy('seed', 'small');
        await use('seed-call', 100);
        const before = await f.store.audit();
        const balanceBefore = (await f.call('GET', '/v1/accounts/acme/balance')).body;
        for (const [method, path, body, headers] of bad) {
          const res = await f.call(method, path, { body: body === null ? 'null' : body, headers });
          assert.ok(
            res.status >= 400 && res.status < 500,
            `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)} → ${res.status}`,
          );
          assert.equal(typeof res.body.error.code, 'string');
          assert.equal(typeof res.body.error.message, 'string');
        }
        assert.deepEqual(await f.store.audit(), before);
        assert.deepEqual((await f.call('GET', '/v1/accounts/acme/balance')).body, balanceBefore);
        assert.equal(f.gateway.chargeCount, 1);
      });
      it('answers 415, 413 and 400 with the right codes', async () => {
        const text = await f.call('POST', '/v1/accounts/acme/usage', {
          body: '{}',
          headers: { 'content-type': 'text/plain' },
        });
        assert.equal(text.status, 415);
        const big = await f.call('POST', '/v1/accounts/acme/usage', {
          body: { pad: 'x'.repeat(20_000) },
        });
        assert.equal(big.status, 413);
        assert.equal(big.body.error.code, 'payload_too_large');
        const malformed = await f.call('POST', '/v1/accounts/acme/usage', { body: '{"callId":' });
        assert.equal(malformed.status, 400);
        assert.equal(malformed.body.error.code, 'invalid_json');
      });
      it('answers a body that breaks off mid-way with 400, not as an unexpected error', async () => {
        const before = await f.store.audit();
        const cases = ['/v1/accounts/acme/usage', '/v1/accounts/acme/purchases'].flatMap((path) =>
          // Chunked, and with a declared length the body never reaches.
          [undefined, '1000'].map((declared) => ({ path, declared })),
        );
        for (const { path, declared } of cases) {
          let sent = false;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent) return controller.error(new Error('connection reset by the client'));
              sent = true;
              controller.enqueue(new TextEncoder().encode('{"callId":"cut","seco'));
            },
          });
          const res = await f.app.request(path, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${SECRET}`,
              'content-type': 'application/json',
              'idempotency-key': 'cut-key',
              ...(declared ? { 'content-length': declared } : {}),
            },
            body,
            duplex: 'half',
          } as RequestInit);
          assert.equal(res.status, 400, path);
          const answer = await res.json();
          // Read by the limit (chunked) or by the route's JSON validator (declared).
          assert.equal(answer.error.code, declared ? 'invalid_json' : 'invalid_request');
          assert.equal(typeof answer.error.message, 'string');
        }
        assert.deepEqual(f.unexpected, [], 'nothing logged as an unexpected error');
        assert.deepEqual(await f.store.audit(), before);
        assert.equal(f.gateway.chargeCount, 0);
      });
      it('answers unknown routes with 404 in the error shape', async () => {
        const res = await f.call('GET', '/v1/nothing-here');
        assert.equal(res.status, 404);
        assert.equal(res.body.error.code, 'not_found');
      });
    });

    describe('CORS and OpenAPI', () => {
      it('allows the configured origin and not others', async () => {
        const ok = await f.app.request('/v1/catalog', {
          headers: { origin: 'https://host.example' },
        });
        assert.equal(ok.headers.get('access-control-allow-origin'), 'https://host.example');
        const other = await f.app.request('/v1/catalog', {
          headers: { origin: 'https://evil.example' },
        });
        assert.equal(other.headers.get('access-control-allow-origin'), null);
        const preflight = await f.app.request('/v1/accounts/acme/purchases', {
          method: 'OPTIONS',
          headers: {
            origin: 'https://host.example',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,idempotency-key,content-type',
          },
        });
        assert.equal(preflight.status, 204);
        assert.match(
          preflight.headers.get('access-control-allow-headers') ?? '',
          /Idempotency-Key/,
        );
        assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://host.example');
        assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /PUT/);
        assert.equal(preflight.headers.get('access-control-max-age'), '600');
        assert.match(preflight.headers.get('vary') ?? '', /Origin/);
        // Every kind of answer carries them: JSON, an error, a CSV the route built itself.
        const origin = { origin: 'https://host.example' };
        const answers = [
          await f.app.request('/v1/catalog', { headers: origin }),
          await f.app.request('/v1/accounts/acme/balance', { headers: origin }),
          await f.app.request('/v1/accounts/acme/ledger.csv', {
            headers: { ...origin, authorization: `Bearer ${SECRET}` },
          }),
        ];
        assert.deepEqual(
          answers.map((r) => r.status),
          [200, 401, 200],
        );
        for (const r of answers) {
          assert.equal(r.headers.get('access-control-allow-origin'), 'https://host.example');
          assert.equal(r.headers.get('access-control-expose-headers'), 'Retry-After');
          assert.equal(r.headers.get('vary'), 'Origin');
        }
        assert.match(answers[2].headers.get('content-type') ?? '', /text\/csv/);
        // The live event stream, a Response of its own too.
        await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'starter' } });
        const stream = await f.app.request('/v1/accounts/acme/events', {
          headers: { ...origin, authorization: `Bearer ${SECRET}` },
        });
        assert.equal(stream.status, 200);
        assert.equal(stream.headers.get('access-control-allow-origin'), 'https://host.example');
        assert.equal(stream.headers.get('vary'), 'Origin');
        await stream.body?.cancel();
        // A preflight from an origin not allowed: no permission given.
        const refused = await f.app.request('/v1/accounts/acme/purchases', {
          method: 'OPTIONS',
          headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
        });
        assert.equal(refused.headers.get('access-control-allow-origin'), null);
      });
      it('publishes an OpenAPI document with every route', async () => {
        const res = await f.call('GET', '/v1/openapi.json', { auth: null });
        assert.equal(res.status, 200);
        assert.equal(res.body.openapi, '3.1.0');
        // Every route the app serves under /v1 is documented, with its method.
        const served = f.app.routes
          .filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL' && r.method !== 'OPTIONS')
          .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
        // (Stripe's webhook route is mounted only with Stripe payments, not in this fixture.)
        const documented = Object.entries(res.body.paths as Record<string, object>)
          .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
          .filter((route) => route !== 'post /v1/webhooks/stripe');
        assert.deepEqual([...new Set(served)].sort(), [...new Set(documented)].sort());
        assert.ok(documented.includes('post /v1/accounts/{id}/grants'));
        assert.deepEqual(Object.keys(res.body.paths['/v1/accounts/{id}']).sort(), ['get', 'put']);
        const buying = res.body.paths['/v1/accounts/{id}/purchases'].post.responses;
        for (const status of ['201', '202', '402', '409', '422', '502'])
          assert.ok(buying[status], status);
        assert.deepEqual(
          res.body.paths['/v1/accounts/{id}/usage'].post.requestBody.content['application/json']
            .schema.required,
          ['callId', 'seconds'],
        );
      });
    });

    it('keeps every invariant after all of the above', async () => {
      await buy('a', 'small');
      await use('u1', 31_000);
      await use('u2', 5_000);
      assertInvariants(await f.store.audit(), () => 30_000);
    });
  });
}
