import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import Stripe from 'stripe';
import { chargeKeyOf } from '../../server/payments/gateway.js';
import { StripeGateway, stripeIdempotencyKey } from '../../server/payments/stripe.js';
import type { LedgerStore } from '../../server/store/types.js';
import { assertInvariants, fixture, storeFactories, type Fixture } from '../support/api.js';
import {
  startStripeDouble,
  type LoggedRequest,
  type StripeDouble,
} from '../support/stripe-double.js';
import { defaultCatalog, findPackage, findPlan } from '../../server/domain/catalog.js';
import { minutesToSeconds } from '../../server/domain/counters.js';

/**
 * The whole API on Stripe (§8 of the design): the real SDK inside
 * `StripeGateway` talks to a local Stripe double over HTTP, for every store.
 * Each test has accounts and customers of its own; one double per store suite.
 */

/** Generous: the SDK waits 0.5–2 s before a retry, and the suite must hold on a loaded 2-core machine. */
const slow = { timeout: 120_000 };

/** The medium package of the default catalog, in the ledger's and in Stripe's terms. */
const medium = findPackage(defaultCatalog, 'medium');
const MEDIUM = {
  seconds: minutesToSeconds(medium.minutes),
  priceMinor: medium.priceMinor,
  description: `${medium.name}: ${medium.minutes} voice minutes`,
};
const SMALL_SECONDS = minutesToSeconds(findPackage(defaultCatalog, 'small').minutes);
/** The starter plan's monthly allowance. */
const STARTER_SECONDS = minutesToSeconds(findPlan(defaultCatalog, 'starter').monthlyMinutes);

const isCreation = (r: LoggedRequest) => r.method === 'POST' && r.path === '/v1/payment_intents';
const callOf = (r: LoggedRequest) => `${r.method} ${r.path}`;

for (const factory of storeFactories) {
  describe(`Stripe payments through the API (${factory.name} store)`, () => {
    let double: StripeDouble;
    let f: Fixture<StripeGateway>;
    let serial = 0;
    let account: string;
    let customer: string;
    /** Where this test's Stripe requests start in `double.requests`. */
    let mark: number;

    before(async () => {
      double = await startStripeDouble();
    });
    after(async () => {
      await double.close();
    });

    /** The API over `store` with a Stripe gateway on the double, as gateway and webhook verifier. */
    const stripeFixture = async (store: LedgerStore) => {
      const gateway = new StripeGateway({
        secretKey: double.secretKey,
        webhookSecret: double.webhookSecret,
        apiBase: double.url,
      });
      const made = await fixture(store, {}, { gateway, stripeWebhooks: gateway });
      // Stripe's clock is the real one; the ledger's is set to match.
      made.clock.set(Date.now());
      return made;
    };

    beforeEach(async () => {
      f = await stripeFixture(await factory.open());
      serial += 1;
      account = `${factory.name}-acct-${serial}`;
      customer = `cus_${factory.name}_${serial}`;
      mark = double.requests.length;
    });
    afterEach(() => {
      // Nothing scripted leaks into the next test.
      double.failNextResponses(0);
      double.rejectNextRequests(0, 500, { type: 'api_error', message: '' });
    });

    /** A starter account linked to a new customer whose default card is `card` (none: no customer). */
    const link = async (card: string | null | undefined, id = account, cus = customer) => {
      if (card !== undefined) double.addCustomer(cus, card);
      const res = await f.call('PUT', `/v1/accounts/${id}`, {
        body: { planId: 'starter', ...(card === undefined ? {} : { stripeCustomerId: cus }) },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    const buy = (key: string, packageId = 'medium', on: Fixture<StripeGateway> = f) =>
      on.call('POST', `/v1/accounts/${account}/purchases`, {
        body: { packageId },
        headers: { 'idempotency-key': key },
      });
    const use = (callId: string, seconds: number) =>
      f.call('POST', `/v1/accounts/${account}/usage`, { body: { callId, seconds } });
    const balance = async () => {
      const res = await f.call('GET', `/v1/accounts/${account}/balance`);
      assert.equal(res.status, 200);
      return res.body;
    };
    const history = async (): Promise<Record<string, any>[]> => {
      const res = await f.call('GET', `/v1/accounts/${account}/purchases`);
      assert.equal(res.status, 200);
      return res.body.purchases;
    };
    const statuses = async () => (await history()).map((p) => p.status);
    const webhook = (event: { body: string; signature?: string }) =>
      f.call('POST', '/v1/webhooks/stripe', {
        body: event.body,
        auth: null,
        headers: event.signature === undefined ? {} : { 'stripe-signature': event.signature },
      });
    /** The Stripe calls since the test began (or `since`). */
    const calls = (since = mark) => double.requests.slice(since).map(callOf);
    const creations = () => double.requests.slice(mark).filter(isCreation);
    /** A PaymentIntent creation for this test's account. */
    const mine = (r: LoggedRequest) =>
      isCreation(r) &&
      (r.params.metadata as Record<string, string> | undefined)?.accountId === account;
    /** This test's account's PaymentIntents, oldest first. */
    const intents = () => double.paymentIntents().filter((pi) => pi.metadata.accountId === account);
    const invariantsHold = async () => assertInvariants(await f.store.audit());
    const noUnexpected = () =>
      assert.deepEqual(
        f.unexpected.map((e) => e.message),
        [],
      );

    it(
      'credits a paid purchase (201) with one PaymentIntent made as designed, and replays it',
      slow,
      async () => {
        await link('pm_card_visa');
        const first = await buy('key-ok');
        assert.equal(first.status, 201, JSON.stringify(first.body));
        assert.equal(first.body.purchase.status, 'active');
        assert.equal(first.body.purchase.remainingSeconds, MEDIUM.seconds);
        assert.equal(first.body.balance.extra.remainingSeconds, MEDIUM.seconds);
        assert.deepEqual(calls(), [`GET /v1/customers/${customer}`, 'POST /v1/payment_intents']);

        const [create] = creations();
        const chargeKey = await chargeKeyOf(account, 'key-ok');
        const attempt = (create.params.metadata as Record<string, string>).attempt;
        assert.ok(typeof attempt === 'string' && attempt.length > 0, 'an attempt of its own');
        assert.equal(
          'off_session' in create.params,
          false,
          'the customer is present: not off-session',
        );
        assert.deepEqual(create.params, {
          amount: String(MEDIUM.priceMinor),
          currency: 'usd',
          customer,
          payment_method: 'pm_card_visa',
          confirm: 'true',
          automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
          description: MEDIUM.description,
          metadata: {
            accountId: account,
            packageId: 'medium',
            purchaseKey: 'key-ok',
            chargeKey,
            attempt,
          },
        });
        assert.equal(
          create.idempotencyKey,
          stripeIdempotencyKey({ idempotencyKey: chargeKey, attempt }),
        );
        assert.deepEqual(
          double.requests.slice(mark).map((r) => r.idempotencyKey),
          [null, create.idempotencyKey],
          'one Idempotency-Key, on the creation only',
        );

        const [intent] = intents();
        assert.equal(intents().length, 1);
        assert.equal(intent.status, 'succeeded');
        assert.equal(intent.amount, MEDIUM.priceMinor);

        const replay = await buy('key-ok');
        assert.equal(replay.status, 201);
        assert.deepEqual(replay.body, first.body);
        assert.equal(intents().length, 1, 'still one PaymentIntent');
        assert.equal(double.requests.length - mark, 2, 'the replay asks Stripe nothing');

        assert.equal((await balance()).extra.remainingSeconds, MEDIUM.seconds);
        assert.deepEqual(await statuses(), ['active']);
        assert.equal((await history())[0].id, first.body.purchase.id);
        await invariantsHold();
        noUnexpected();
      },
    );

    it(
      'answers a declined card with 402 and Stripe’s message, and charges anew once the card changed',
      slow,
      async () => {
        await link('pm_card_chargeDeclined');
        const declined = await buy('key-dec');
        assert.equal(declined.status, 402);
        assert.equal(declined.body.error.code, 'payment_declined');
        assert.match(declined.body.error.message, /Your card was declined\./);
        assert.equal((await balance()).extra.remainingSeconds, 0);
        assert.deepEqual(await history(), [], 'nothing bought, nothing waiting');
        assert.equal(intents().length, 1);
        assert.equal(intents()[0].status, 'requires_payment_method');

        double.addCustomer(customer, 'pm_card_visa'); // the customer saved a good card
        const paid = await buy('key-dec');
        assert.equal(paid.status, 201, JSON.stringify(paid.body));
        assert.equal(paid.body.balance.extra.remainingSeconds, MEDIUM.seconds);
        assert.deepEqual(
          intents().map((pi) => pi.status),
          ['requires_payment_method', 'succeeded'],
        );
        const keys = creations().map((r) => r.idempotencyKey);
        assert.equal(keys.length, 2);
        assert.notEqual(keys[0], keys[1], 'a new attempt is a new Stripe request');
        assert.deepEqual(calls(), [
          `GET /v1/customers/${customer}`,
          'POST /v1/payment_intents',
          `GET /v1/customers/${customer}`,
          'POST /v1/payment_intents',
        ]);
        assert.deepEqual(await statuses(), ['active']);
        await invariantsHold();
        noUnexpected();
      },
    );

    it(
      'asks for a payment method (402) without any PaymentIntent when none is on file',
      slow,
      async () => {
        // No customer linked: Stripe is not asked at all.
        await link(undefined);
        const unlinked = await buy('key-none');
        assert.equal(unlinked.status, 402);
        assert.equal(unlinked.body.error.code, 'payment_method_required');
        assert.deepEqual(calls(), []);

        // A customer without a default payment method: one look at the customer.
        const bare = `${account}-bare`;
        const bareCustomer = `${customer}_bare`;
        await link(null, bare, bareCustomer);
        const noCard = await f.call('POST', `/v1/accounts/${bare}/purchases`, {
          body: { packageId: 'medium' },
          headers: { 'idempotency-key': 'key-none' },
        });
        assert.equal(noCard.status, 402);
        assert.equal(noCard.body.error.code, 'payment_method_required');
        assert.deepEqual(calls(), [`GET /v1/customers/${bareCustomer}`]);
        assert.equal(creations().length, 0);

        for (const id of [account, bare]) {
          const b = await f.call('GET', `/v1/accounts/${id}/balance`);
          assert.equal(b.body.extra.remainingSeconds, 0);
          assert.deepEqual(
            (await f.call('GET', `/v1/accounts/${id}/purchases`)).body.purchases,
            [],
          );
        }
        await invariantsHold();
        noUnexpected();
      },
    );

    describe('a purchase the bank wants the customer to authenticate', () => {
      it(
        'answers 202 with the client secret, and the retry after authentication credits it (201)',
        slow,
        async () => {
          await link('pm_card_authenticationRequired');
          const waiting = await buy('key-3ds');
          assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
          const [intent] = intents();
          assert.equal(waiting.body.clientSecret, intent.client_secret);
          assert.equal(waiting.body.purchase.status, 'requires_action');
          assert.equal(waiting.body.purchase.remainingSeconds, 0);
          assert.equal((await balance()).extra.remainingSeconds, 0);
          const shown = await history();
          assert.deepEqual(
            shown.map((p) => [p.id, p.status]),
            [[waiting.body.purchase.id, 'requires_action']],
          );
          await invariantsHold();

          // Still waiting: the retry says so again, asking Stripe where it stands.
          const asked = double.requests.length;
          const still = await buy('key-3ds');
          assert.equal(still.status, 202);
          assert.deepEqual(still.body, waiting.body);
          assert.deepEqual(calls(asked), [`GET /v1/payment_intents/${intent.id}`]);

          double.authenticate(intent.id, true);
          const before = double.requests.length;
          const paid = await buy('key-3ds');
          assert.equal(paid.status, 201, JSON.stringify(paid.body));
          assert.equal(paid.body.purchase.id, waiting.body.purchase.id, 'the announced purchase');
          assert.equal(paid.body.purchase.status, 'active');
          assert.equal(paid.body.balance.extra.remainingSeconds, MEDIUM.seconds);
          assert.deepEqual(calls(before), [`GET /v1/payment_intents/${intent.id}`]);
          assert.equal(intents().length, 1);
          assert.equal(creations().length, 1);

          const replay = await buy('key-3ds');
          assert.equal(replay.status, 201);
          assert.deepEqual(replay.body, paid.body);
          assert.deepEqual(await statuses(), ['active']);
          await invariantsHold();
          noUnexpected();
        },
      );

      it(
        'fails (402, history failed) when authentication fails, and the same key then buys anew',
        slow,
        async () => {
          await link('pm_card_authenticationRequired');
          const waiting = await buy('key-3ds-x');
          assert.equal(waiting.status, 202);
          const [first] = intents();
          double.authenticate(first.id, false);

          const asked = double.requests.length;
          const failed = await buy('key-3ds-x');
          assert.deepEqual(calls(asked), [`GET /v1/payment_intents/${first.id}`]);
          assert.equal(failed.status, 402, JSON.stringify(failed.body));
          assert.equal(failed.body.error.code, 'payment_declined');
          assert.match(failed.body.error.message, /failed authentication/);
          assert.deepEqual(
            (await history()).map((p) => [p.id, p.status]),
            [[waiting.body.purchase.id, 'failed']],
          );
          assert.equal((await balance()).extra.remainingSeconds, 0);
          await invariantsHold();

          double.addCustomer(customer, 'pm_card_visa'); // card fixed
          const before = double.requests.length;
          const paid = await buy('key-3ds-x');
          assert.equal(paid.status, 201, JSON.stringify(paid.body));
          assert.equal(paid.body.purchase.id, waiting.body.purchase.id, 'the announced purchase');
          assert.equal(paid.body.balance.extra.remainingSeconds, MEDIUM.seconds);
          assert.deepEqual(calls(before), [
            `GET /v1/customers/${customer}`,
            'POST /v1/payment_intents',
          ]);
          assert.deepEqual(
            intents().map((pi) => pi.status),
            ['requires_payment_method', 'succeeded'],
          );
          const keys = creations().map((r) => r.idempotencyKey);
          assert.notEqual(keys[0], keys[1], 'a new attempt under a key of its own');
          assert.deepEqual(
            (await history()).map((p) => p.status),
            ['active'],
          );
          await invariantsHold();
          noUnexpected();
        },
      );
    });

    describe('Stripe webhooks', () => {
      it(
        'credits on payment_intent.succeeded before the retry, which replays; an event applies once',
        slow,
        async () => {
          await link('pm_card_authenticationRequired');
          const waiting = await buy('key-wh');
          assert.equal(waiting.status, 202);
          const [intent] = intents();
          double.authenticate(intent.id, true);

          const event = double.succeededEvent(intent.id);
          const before = double.requests.length;
          const applied = await webhook(event);
          assert.equal(applied.status, 200, JSON.stringify(applied.body));
          assert.equal(applied.body.result, 'applied');
          const credited = await balance();
          assert.equal(credited.extra.remainingSeconds, MEDIUM.seconds);
          const [bought] = await history();
          assert.equal(bought.id, waiting.body.purchase.id);
          assert.equal(bought.status, 'active');

          const retry = await buy('key-wh');
          assert.equal(retry.status, 201, JSON.stringify(retry.body));
          assert.deepEqual(retry.body, { purchase: bought, balance: credited });
          const again = await buy('key-wh');
          assert.deepEqual(again.body, retry.body);
          assert.deepEqual(calls(before), [], 'the webhook and the replays ask Stripe nothing');

          const duplicate = await webhook(event);
          assert.equal(duplicate.status, 200);
          assert.equal(duplicate.body.result, 'duplicate');
          // Another delivery of the news (a new event id) credits nothing either.
          assert.equal((await webhook(double.succeededEvent(intent.id))).status, 200);
          assert.equal((await balance()).extra.remainingSeconds, MEDIUM.seconds, 'credited once');
          assert.equal((await history()).length, 1);
          assert.equal(intents().length, 1);
          await invariantsHold();
          noUnexpected();
        },
      );

      it(
        'ends a waiting purchase as failed on payment_intent.payment_failed; an old attempt’s failure fails no newer one',
        slow,
        async () => {
          await link('pm_card_authenticationRequired');
          const waiting = await buy('key-fail');
          assert.equal(waiting.status, 202);
          const [first] = intents();
          double.authenticate(first.id, false);
          const failed = await webhook(double.failedEvent(first.id));
          assert.equal(failed.status, 200, JSON.stringify(failed.body));
          assert.equal(failed.body.result, 'applied');
          assert.deepEqual(
            (await history()).map((p) => [p.id, p.status]),
            [[waiting.body.purchase.id, 'failed']],
          );
          assert.equal((await balance()).extra.remainingSeconds, 0);
          await invariantsHold();

          // The same key again: a new attempt, a new PaymentIntent, waiting for the bank again.
          const second = await buy('key-fail');
          assert.equal(second.status, 202, JSON.stringify(second.body));
          assert.equal(second.body.purchase.status, 'requires_action');
          assert.equal(intents().length, 2);
          const newer = intents()[1];
          assert.equal(second.body.clientSecret, newer.client_secret);

          // A (late, redelivered) failure of the first attempt's PaymentIntent.
          const late = await webhook(double.failedEvent(first.id));
          assert.equal(late.status, 200);
          assert.deepEqual(await statuses(), ['requires_action'], 'the newer attempt still waits');

          double.authenticate(newer.id, true);
          const paid = await buy('key-fail');
          assert.equal(paid.status, 201, JSON.stringify(paid.body));
          assert.equal(paid.body.balance.extra.remainingSeconds, MEDIUM.seconds);
          assert.deepEqual(await statuses(), ['active']);
          assert.equal(intents().length, 2);
          await invariantsHold();
          noUnexpected();
        },
      );

      it(
        'refunds on charge.refunded: what remained is voided, what was used stays used; once',
        slow,
        async () => {
          await link('pm_card_visa');
          const medium = await buy('key-ref');
          assert.equal(medium.status, 201);
          const small = await buy('key-keep', 'small');
          assert.equal(small.status, 201);
          // The plan's allowance, then 1000 s of the medium package (the oldest).
          const usage = await use('call-1', STARTER_SECONDS + 1000);
          assert.equal(usage.status, 200, JSON.stringify(usage.body));
          assert.equal(usage.body.usage.fromPlanSeconds, STARTER_SECONDS);
          assert.deepEqual(usage.body.usage.fromExtra, [
            { purchaseId: medium.body.purchase.id, seconds: 1000 },
          ]);
          const remaining = MEDIUM.seconds - 1000;
          const before = await balance();
          assert.equal(before.extra.remainingSeconds, remaining + SMALL_SECONDS);
          assert.equal(before.extra.activePackages, 2);

          const [paidIntent] = intents();
          assert.equal(paidIntent.metadata.purchaseKey, 'key-ref');
          // A partial refund (a goodwill gesture in Stripe's dashboard) leaves the minutes.
          const partial = await webhook(double.refundedEvent(paidIntent.id, 500));
          assert.equal(partial.body.result, 'ignored');
          assert.deepEqual(await balance(), before);
          // The refund of the rest: the whole payment is refunded now.
          const event = double.refundedEvent(paidIntent.id);
          const refunded = await webhook(event);
          assert.equal(refunded.status, 200, JSON.stringify(refunded.body));
          assert.equal(refunded.body.result, 'applied');

          const after = await balance();
          assert.equal(after.extra.remainingSeconds, SMALL_SECONDS, 'dropped by what remained');
          assert.equal(after.extra.activePackages, 1);
          assert.equal(after.plan.usedSeconds, STARTER_SECONDS, 'used minutes stay used');
          const byId = new Map((await history()).map((p) => [p.id, p]));
          const gone = byId.get(medium.body.purchase.id);
          assert.equal(gone?.status, 'refunded');
          assert.equal(gone?.refundedSeconds, remaining);
          assert.equal(gone?.remainingSeconds, 0);
          assert.equal(byId.get(small.body.purchase.id)?.status, 'active');
          const audit = await f.store.audit();
          const row = audit.purchases.find((p) => p.id === medium.body.purchase.id);
          assert.deepEqual(row && [row.allocated, row.refunded, row.remainingSeconds], [
            1000,
            remaining,
            0,
          ]);
          const call = audit.usages.find((u) => u.callId === 'call-1');
          assert.deepEqual(call && [call.fromPlan, call.fromExtra], [STARTER_SECONDS, 1000]);
          assertInvariants(audit);

          const duplicate = await webhook(event);
          assert.equal(duplicate.body.result, 'duplicate');
          const snapshot = await f.store.audit();
          // Another refund event of the same charge (a new id): the purchase is refunded once.
          const second = await webhook(double.refundedEvent(paidIntent.id));
          assert.equal(second.status, 200);
          assert.deepEqual(await f.store.audit(), snapshot);
          assert.equal((await balance()).extra.remainingSeconds, SMALL_SECONDS);
          noUnexpected();
        },
      );

      it(
        'refuses a bad, missing or another secret’s signature and a tampered body (400), applying nothing',
        slow,
        async () => {
          await link('pm_card_authenticationRequired');
          const waiting = await buy('key-sig');
          assert.equal(waiting.status, 202);
          const [intent] = intents();
          double.authenticate(intent.id, true);
          const event = double.succeededEvent(intent.id);
          const audit = await f.store.audit();
          const otherSecret = new Stripe('sk_test_other').webhooks.generateTestHeaderString({
            payload: event.body,
            secret: 'whsec_someone_else',
          });
          const cases: [string, { body: string; signature?: string }][] = [
            ['missing', { body: event.body }],
            ['garbage', { body: event.body, signature: 't=1,v1=deadbeef' }],
            ['another secret', { body: event.body, signature: otherSecret }],
            [
              'tampered body',
              {
                body: event.body.replace(`"purchaseKey": "key-sig"`, `"purchaseKey": "key-other"`),
                signature: event.signature,
              },
            ],
          ];
          assert.notEqual(cases[3][1].body, event.body, 'the body was tampered with');
          for (const [name, bad] of cases) {
            const res = await webhook(bad);
            assert.equal(res.status, 400, name);
            assert.equal(res.body.error.code, 'invalid_signature', name);
            assert.deepEqual(await f.store.audit(), audit, `${name}: nothing applied`);
          }
          assert.deepEqual(await statuses(), ['requires_action']);
          assert.equal((await balance()).extra.remainingSeconds, 0);

          // The genuine event was not used up by the forgeries.
          const genuine = await webhook(event);
          assert.equal(genuine.status, 200);
          assert.equal(genuine.body.result, 'applied');
          assert.equal((await balance()).extra.remainingSeconds, MEDIUM.seconds);
          // Events about something else: 200, ignored.
          const other = await webhook(
            double.webhook('customer.created', { id: customer, object: 'customer' }),
          );
          assert.equal(other.status, 200);
          assert.equal(other.body.result, 'ignored');
          await invariantsHold();
          noUnexpected();
        },
      );
    });

    it(
      'answers 502 when Stripe’s answer is lost, and the retry finds the same PaymentIntent',
      slow,
      async () => {
        await link('pm_card_visa');
        // Stripe makes the PaymentIntent, then the connection breaks — and again on the SDK's own retry.
        double.failNextResponses(2, mine);
        const lost = await buy('key-net');
        assert.equal(lost.status, 502, JSON.stringify(lost.body));
        assert.equal(lost.body.error.code, 'payment_unavailable');
        assert.equal(
          intents().length,
          1,
          'Stripe made the PaymentIntent before the connection broke',
        );
        const tries = creations();
        assert.deepEqual(
          tries.map((r) => [r.dropped ?? false, r.replayed ?? false]),
          [
            [true, false],
            [true, true],
          ],
          'made once, its answer lost twice (the SDK retried once itself)',
        );
        assert.equal(new Set(tries.map((r) => r.idempotencyKey)).size, 1, 'under one key');
        assert.deepEqual(calls(), [
          `GET /v1/customers/${customer}`,
          'POST /v1/payment_intents',
          'POST /v1/payment_intents',
        ]);
        assert.equal((await balance()).extra.remainingSeconds, 0);
        assert.deepEqual(await history(), []);
        await invariantsHold();

        const before = double.requests.length;
        const retried = await buy('key-net');
        assert.equal(retried.status, 201, JSON.stringify(retried.body));
        assert.equal(retried.body.balance.extra.remainingSeconds, MEDIUM.seconds);
        // The retry looks for the charge its lost answer was about (Stripe may no
        // longer replay its key), finds it, and makes none.
        assert.deepEqual(calls(before), ['GET /v1/payment_intents']);
        assert.equal(tries.length > 0, true);
        assert.equal(intents().length, 1, 'the same PaymentIntent');
        assert.deepEqual(await statuses(), ['active']);
        await invariantsHold();
        noUnexpected();
      },
    );

    it(
      'completes at start-up a purchase paid at Stripe whose credit a crash lost; the retry replays',
      slow,
      async () => {
        await link('pm_card_visa');
        const store = f.store;
        const original = store.transact.bind(store);
        let transactions = 0;
        // The first transaction after the charge (the credit) "crashes".
        store.transact = (fn, options) =>
          ++transactions === 2
            ? Promise.reject(new Error('crash between Stripe’s success and the credit'))
            : original(fn, options);
        let crashed;
        try {
          crashed = await buy('key-crash');
        } finally {
          store.transact = original;
        }
        assert.equal(crashed.status, 500);
        assert.match(f.unexpected[0]?.message ?? '', /crash between/);
        assert.equal(intents().length, 1);
        assert.equal(intents()[0].status, 'succeeded', 'the customer paid');
        assert.equal((await balance()).extra.remainingSeconds, 0);

        // A fresh process on the same store, with the same Stripe settings.
        const restarted = await stripeFixture(store);
        const before = double.requests.length;
        assert.equal(await restarted.app.ledger.completePendingPurchases(), 1);
        const recovery = double.requests.slice(before);
        assert.deepEqual(recovery.map(callOf), ['GET /v1/payment_intents']);
        assert.equal(recovery[0].params.customer, customer);
        assert.equal(await restarted.app.ledger.completePendingPurchases(), 0, 'nothing left');
        assert.equal((await balance()).extra.remainingSeconds, MEDIUM.seconds);
        assert.deepEqual(await statuses(), ['active']);
        assert.equal(intents().length, 1);

        const retried = await buy('key-crash', 'medium', restarted);
        assert.equal(retried.status, 201, JSON.stringify(retried.body));
        assert.equal(retried.body.balance.extra.remainingSeconds, MEDIUM.seconds);
        assert.deepEqual(retried.body.purchase, (await history())[0]);
        const fromTheOld = await buy('key-crash');
        assert.deepEqual(fromTheOld.body, retried.body);
        assert.equal(creations().length, 1, 'one PaymentIntent request in all');
        assert.deepEqual(restarted.unexpected, []);
        await invariantsHold();
      },
    );

    it(
      'makes one PaymentIntent for 10 concurrent identical requests, all 201 with one purchase',
      slow,
      async () => {
        await link('pm_card_visa');
        const release = double.holdPaymentIntents();
        let answers;
        try {
          const requests = Array.from({ length: 10 }, () => buy('key-10'));
          await double.whenRequests(10, mine);
          release();
          answers = await Promise.all(requests);
        } finally {
          release();
        }
        for (const res of answers) {
          assert.equal(res.status, 201, JSON.stringify(res.body));
          assert.deepEqual(res.body, answers[0].body);
        }
        assert.equal(intents().length, 1, 'ONE PaymentIntent');
        assert.equal(creations().length, 10);
        assert.equal(creations().filter((r) => r.replayed).length, 9);
        assert.equal(new Set(creations().map((r) => r.idempotencyKey)).size, 1);
        assert.equal((await balance()).extra.remainingSeconds, MEDIUM.seconds);
        assert.deepEqual(await statuses(), ['active']);
        await invariantsHold();
        noUnexpected();
      },
    );

    it(
      'answers a processing payment with 202 pending and no client secret; the webhook credits it',
      slow,
      async () => {
        await link('pm_card_processing');
        const waiting = await buy('key-proc');
        assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
        assert.equal(waiting.body.clientSecret, null);
        assert.equal(waiting.body.purchase.status, 'pending');
        assert.deepEqual(await statuses(), ['pending']);
        assert.equal((await balance()).extra.remainingSeconds, 0);
        const still = await buy('key-proc');
        assert.equal(still.status, 202);
        assert.deepEqual(still.body, waiting.body);

        const [intent] = intents();
        assert.equal(intent.status, 'processing');
        // Stripe settles it later and says so.
        const paid = await webhook(
          double.webhook('payment_intent.succeeded', {
            ...intent,
            status: 'succeeded',
            amount_received: intent.amount,
          }),
        );
        assert.equal(paid.status, 200, JSON.stringify(paid.body));
        assert.equal(paid.body.result, 'applied');
        assert.equal((await balance()).extra.remainingSeconds, MEDIUM.seconds);
        const [bought] = await history();
        assert.deepEqual([bought.id, bought.status], [waiting.body.purchase.id, 'active']);
        const retry = await buy('key-proc');
        assert.equal(retry.status, 201);
        assert.deepEqual(retry.body.purchase, bought);
        assert.equal(intents().length, 1);
        await invariantsHold();
        noUnexpected();
      },
    );

    describe('edges found in review', () => {
      it(
        'finds the paid PaymentIntent on a retry after a lost answer, even when the default card changed meanwhile',
        slow,
        async () => {
          await link('pm_card_visa');
          double.failNextResponses(2, mine);
          const lost = await buy('key-moved');
          assert.equal(lost.status, 502, JSON.stringify(lost.body));
          assert.equal(intents()[0].status, 'succeeded', 'the customer paid');
          // Told that payment is unavailable, the customer makes another card their default.
          double.addCustomer(customer, 'pm_card_authenticationRequired');

          const retried = await buy('key-moved');
          assert.equal(retried.status, 201, JSON.stringify(retried.body));
          assert.equal(retried.body.balance.extra.remainingSeconds, MEDIUM.seconds);
          assert.equal(intents().length, 1, 'the same PaymentIntent');
          assert.deepEqual(await statuses(), ['active']);
          await invariantsHold();
        },
      );

      it(
        'credits no minutes for a payment Stripe reported refunded before the purchase was credited',
        slow,
        async () => {
          await link('pm_card_authenticationRequired');
          const waiting = await buy('key-early-refund');
          assert.equal(waiting.status, 202);
          const [intent] = intents();
          double.authenticate(intent.id, true);
          // Stripe does not order its events: the success is delivered after the refund.
          const succeeded = double.succeededEvent(intent.id);
          const refund = await webhook(double.refundedEvent(intent.id));
          assert.equal(refund.status, 200, JSON.stringify(refund.body));
          const late = await webhook(succeeded);
          assert.equal(late.status, 200, JSON.stringify(late.body));
          await buy('key-early-refund');

          assert.equal(
            (await balance()).extra.remainingSeconds,
            0,
            'no minutes for a refunded payment',
          );
          assert.deepEqual(
            (await history()).filter((p) => p.status === 'active'),
            [],
          );
          await invariantsHold();
        },
      );
    });
  });
}
