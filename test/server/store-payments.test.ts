/**
 * The payment operations of the storage port (schema version 4), the same on
 * every store: the account's Stripe customer, the payment fields of intents
 * and the intents awaiting a payment, purchases by payment reference and
 * their refunds, and the processor's events recorded exactly once.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LedgerStore, PurchaseIntentRow, PurchaseRow } from '../../server/store/types.js';
import { storeFactories } from '../support/api.js';

const T = Date.parse('2026-03-10T12:00:00Z');

function intent(
  idempotencyKey: string,
  createdAtMs: number,
  fields: Partial<PurchaseIntentRow> = {},
): PurchaseIntentRow {
  return {
    accountId: 'acme',
    idempotencyKey,
    packageId: 'small',
    status: 'pending',
    response: null,
    createdAtMs,
    charged: { name: 'Small', minutes: 50, priceMinor: 1500, currency: 'USD' },
    attempt: `att_${idempotencyKey}`,
    purchaseId: null,
    paymentRef: null,
    paymentState: null,
    customerId: null,
    ...fields,
  };
}

function purchase(id: string, paymentRef: string, fields: Partial<PurchaseRow> = {}): PurchaseRow {
  return {
    id,
    accountId: 'acme',
    packageId: 'small',
    name: 'Small',
    minutes: 50,
    priceMinor: 1500,
    currency: 'USD',
    purchasedAtMs: T,
    totalSeconds: 3000,
    remainingSeconds: 3000,
    status: 'active',
    paymentRef,
    idempotencyKey: `key_${id}`,
    refundedSeconds: null,
    kind: 'package',
    reason: null,
    refundMinor: null,
    refundedAtMs: null,
    ...fields,
  };
}

class Rollback extends Error {}

for (const factory of storeFactories) {
  describe(`store payments (${factory.name})`, () => {
    let store: LedgerStore;

    beforeEach(async () => {
      // The PostgreSQL factory closes the previous store itself.
      if (store && store.kind !== 'postgres') await store.close();
      store = await factory.open();
      await store.transact(async (tx) => {
        await tx.putAccount('acme', 'starter', T, T);
        await tx.putAccount('other', 'starter', T, T);
      });
    });
    after(async () => {
      if (store.kind !== 'postgres') await store.close();
    });

    const customerOf = (id: string) =>
      store.transact(async (tx) => (await tx.getAccount(id))?.stripeCustomerId);

    it('links, keeps and unlinks the Stripe customer of an account', async () => {
      assert.equal(await customerOf('acme'), null, 'none unless given');
      const created = await store.transact((tx) =>
        tx.putAccount('linked', 'starter', T, T, 'cus_new'),
      );
      assert.equal(created, true);
      assert.equal(await customerOf('linked'), 'cus_new', 'given on creation');
      await store.transact((tx) => tx.putAccount('unlinked', 'starter', T, T, null));
      assert.equal(await customerOf('unlinked'), null);

      assert.equal(
        await store.transact((tx) => tx.putAccount('acme', 'growth', T, 0, 'cus_1')),
        false,
      );
      assert.equal(await customerOf('acme'), 'cus_1', 'linked on update');
      await store.transact((tx) => tx.putAccount('acme', 'scale', T + 1, 0));
      const kept = await store.transact((tx) => tx.getAccount('acme'));
      assert.deepEqual(
        [kept?.planId, kept?.cycleAnchorMs, kept?.createdAtMs, kept?.stripeCustomerId],
        ['scale', T + 1, T, 'cus_1'],
        'undefined keeps the customer; the plan and anchor change, the creation time stays',
      );
      await store.transact((tx) => tx.putAccount('acme', 'scale', T + 1, 0, 'cus_2'));
      assert.equal(await customerOf('acme'), 'cus_2', 'relinked');
      await store.transact((tx) => tx.putAccount('acme', 'scale', T + 1, 0, null));
      assert.equal(await customerOf('acme'), null, 'null unlinks');
      assert.equal(await customerOf('other'), null, 'other accounts untouched');
    });

    it('writes the payment fields of an intent, and updateIntentPayment only those', async () => {
      const row = intent('k1', T, { purchaseId: 'pur_1', paymentRef: 'pi_1' });
      await store.transact((tx) => tx.insertIntent(row));
      assert.deepEqual(await store.transact((tx) => tx.findIntent('acme', 'k1')), row);

      const bare = intent('k2', T, { charged: null, attempt: '' });
      await store.transact((tx) => tx.insertIntent(bare));
      assert.deepEqual(await store.transact((tx) => tx.findIntent('acme', 'k2')), bare);

      // Everything else in the row passed is ignored.
      await store.transact((tx) =>
        tx.updateIntentPayment({
          ...row,
          packageId: 'large',
          status: 'completed',
          response: '{"ignored":true}',
          createdAtMs: T + 99,
          charged: null,
          attempt: 'att_retry',
          purchaseId: 'pur_2',
          paymentRef: 'pi_2',
          paymentState: 'requires_action',
        }),
      );
      assert.deepEqual(await store.transact((tx) => tx.findIntent('acme', 'k1')), {
        ...row,
        attempt: 'att_retry',
        purchaseId: 'pur_2',
        paymentRef: 'pi_2',
        paymentState: 'requires_action',
      });
      for (const paymentState of ['processing', 'failed'] as const) {
        await store.transact((tx) => tx.updateIntentPayment({ ...row, paymentState }));
        assert.equal(
          (await store.transact((tx) => tx.findIntent('acme', 'k1')))?.paymentState,
          paymentState,
        );
      }
      await store.transact((tx) =>
        tx.updateIntentPayment({ ...row, purchaseId: null, paymentRef: null, paymentState: null }),
      );
      assert.deepEqual(await store.transact((tx) => tx.findIntent('acme', 'k1')), {
        ...row,
        purchaseId: null,
        paymentRef: null,
      });
      assert.deepEqual(
        await store.transact((tx) => tx.findIntent('acme', 'k2')),
        bare,
        'the other intent untouched',
      );
      // An intent that is not there: nothing happens.
      await store.transact((tx) => tx.updateIntentPayment(intent('missing', T)));
      assert.equal(await store.transact((tx) => tx.findIntent('acme', 'missing')), null);
    });

    it('lists the pending intents of an account with a payment state, newest first', async () => {
      await store.transact(async (tx) => {
        await tx.insertIntent(intent('oldest', T + 1, { paymentState: 'processing' }));
        await tx.insertIntent(intent('newest', T + 4, { paymentState: 'requires_action' }));
        await tx.insertIntent(intent('Middle', T + 2, { paymentState: 'processing' }));
        // Same time as `Middle`: the key breaks the tie (byte order, descending), not the
        // order of insertion.
        await tx.insertIntent(intent('middle', T + 2, { paymentState: 'failed' }));
        await tx.insertIntent(intent('no-state', T + 5));
        await tx.insertIntent(intent('done', T + 6, { paymentState: 'processing' }));
        await tx.completeIntent('acme', 'done', '{}');
        await tx.insertIntent({
          ...intent('theirs', T + 7, { paymentState: 'processing' }),
          accountId: 'other',
        });
      });
      const awaiting = await store.transact((tx) => tx.awaitingIntents('acme'));
      assert.deepEqual(
        awaiting.map((i) => [i.idempotencyKey, i.paymentState]),
        [
          ['newest', 'requires_action'],
          ['middle', 'failed'],
          ['Middle', 'processing'],
          ['oldest', 'processing'],
        ],
      );
      assert.deepEqual(awaiting[0], intent('newest', T + 4, { paymentState: 'requires_action' }));
      assert.deepEqual(
        (await store.transact((tx) => tx.awaitingIntents('other'))).map((i) => i.idempotencyKey),
        ['theirs'],
      );
      assert.deepEqual(await store.transact((tx) => tx.awaitingIntents('nobody')), []);

      // A state set later counts; one cleared or deleted does not.
      await store.transact(async (tx) => {
        await tx.updateIntentPayment(intent('no-state', T + 5, { paymentState: 'processing' }));
        await tx.updateIntentPayment(intent('newest', T + 4));
        await tx.deleteIntent('acme', 'middle');
      });
      assert.deepEqual(
        (await store.transact((tx) => tx.awaitingIntents('acme'))).map((i) => i.idempotencyKey),
        ['no-state', 'Middle', 'oldest'],
      );
    });

    it('finds a purchase by its payment reference', async () => {
      const first = purchase('pur_1', 'pi_a');
      const second = purchase('pur_2', 'pi_b', { purchasedAtMs: T + 1 });
      await store.transact(async (tx) => {
        await tx.insertPurchase(first);
        await tx.insertPurchase(second);
        await tx.changeBalance('acme', 6000, 2);
      });
      assert.deepEqual(await store.transact((tx) => tx.findPurchaseByPaymentRef('pi_b')), second);
      assert.deepEqual(await store.transact((tx) => tx.findPurchaseByPaymentRef('pi_a')), first);
      assert.equal(await store.transact((tx) => tx.findPurchaseByPaymentRef('pi_none')), null);
    });

    it('refunds a purchase; with the counters adjusted by the caller the audit holds', async () => {
      await store.transact(async (tx) => {
        await tx.insertPurchase(purchase('pur_1', 'pi_a'));
        await tx.insertPurchase(purchase('pur_2', 'pi_b'));
        await tx.changeBalance('acme', 6000, 2);
        await tx.drawFromPurchase('pur_1', 600);
        await tx.changeBalance('acme', -600, 0);
      });
      await store.transact(async (tx) => {
        const p = (await tx.findPurchaseByPaymentRef('pi_a'))!;
        await tx.markRefunded(p.id, { seconds: p.remainingSeconds, minor: 900, atMs: T });
        await tx.changeBalance('acme', -p.remainingSeconds, p.status === 'active' ? -1 : 0);
      });
      const read = await store.transact(async (tx) => ({
        refunded: await tx.findPurchaseByKey('acme', 'key_pur_1'),
        active: await tx.activePurchases('acme'),
        account: await tx.getAccount('acme'),
        listed: await tx.listPurchases('acme'),
      }));
      assert.deepEqual(
        read.refunded,
        purchase('pur_1', 'pi_a', {
          remainingSeconds: 0,
          status: 'used',
          refundedSeconds: 2400,
          refundMinor: 900,
          refundedAtMs: T,
        }),
      );
      assert.deepEqual(read.active, [{ id: 'pur_2', remainingSeconds: 3000 }]);
      assert.deepEqual(
        [read.account?.extraRemainingSeconds, read.account?.activePackages],
        [3000, 1],
      );
      assert.deepEqual(
        read.listed.map((p) => [p.id, p.refundedSeconds]),
        [
          ['pur_2', null],
          ['pur_1', 2400],
        ],
      );

      const audit = await store.audit();
      for (const a of audit.accounts) {
        assert.equal(a.extraRemainingSeconds, a.sumPurchaseRemaining, a.id);
        assert.equal(a.activePackages, a.countActive, a.id);
      }
      assert.deepEqual(
        audit.purchases.find((p) => p.id === 'pur_1'),
        { id: 'pur_1', totalSeconds: 3000, remainingSeconds: 0, allocated: 0, refunded: 2400 },
      );

      await assert.rejects(
        store.transact((tx) => tx.markRefunded('pur_none', { seconds: 0, minor: 0, atMs: T })),
        /no purchase/,
      );
      await assert.rejects(
        store.transact((tx) => tx.markRefunded('pur_2', { seconds: -1, minor: 0, atMs: T })),
      );
      assert.deepEqual(
        await store.transact((tx) => tx.activePurchases('acme')),
        [{ id: 'pur_2', remainingSeconds: 3000 }],
        'a failed refund changes nothing',
      );
    });

    it('records a payment event once, and not when its transaction fails', async () => {
      assert.equal(await store.transact((tx) => tx.recordPaymentEvent('evt_1', 'a', T)), true);
      assert.equal(await store.transact((tx) => tx.recordPaymentEvent('evt_1', 'a', T + 1)), false);
      assert.deepEqual(
        await store.transact(async (tx) => [
          await tx.recordPaymentEvent('evt_2', 'b', T),
          await tx.recordPaymentEvent('evt_2', 'b', T),
        ]),
        [true, false],
        'twice in one transaction',
      );

      await assert.rejects(
        store.transact(async (tx) => {
          assert.equal(await tx.recordPaymentEvent('evt_3', 'c', T), true);
          await tx.putAccount('acme', 'starter', T, T, 'cus_rolled_back');
          throw new Rollback('the event is not applied');
        }),
        Rollback,
      );
      assert.equal(await customerOf('acme'), null, 'nothing of it stays');
      assert.equal(
        await store.transact((tx) => tx.recordPaymentEvent('evt_3', 'c', T)),
        true,
        'rolled back with its transaction',
      );
      assert.equal(await store.transact((tx) => tx.recordPaymentEvent('evt_3', 'c', T)), false);
    });
  });
}
