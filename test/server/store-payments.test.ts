/**
 * The payment operations of the storage port (schema version 4), the same on
 * every store: the account's Stripe customer, the payment fields of intents
 * and the intents awaiting a payment, purchases by payment reference and
 * their refunds, and the processor's events recorded exactly once. And the
 * purchase path's two (schema 8): what `readForPurchase` reads after the
 * account's lock, and `writeCredit`'s writes — all of them, or none.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type {
  AutoTopupRow,
  CreditWrite,
  CycleCounters,
  LedgerStore,
  PurchaseIntentRow,
  PurchaseRow,
  WebhookRow,
} from '../../server/store/types.js';
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

function autoTopup(fields: Partial<AutoTopupRow> = {}): AutoTopupRow {
  return {
    accountId: 'acme',
    enabled: true,
    thresholdMinutes: 30,
    packageId: 'small',
    monthlyLimit: 3,
    status: 'active',
    pausedReason: null,
    cycleStartMs: T,
    cycleCount: 0,
    sequence: 0,
    pendingKey: null,
    updatedAtMs: T,
    ...fields,
  };
}

function webhook(id: string, type = 'purchase.succeeded'): WebhookRow {
  return {
    id,
    accountId: 'acme',
    type,
    body: JSON.stringify({ type, id }),
    status: 'pending',
    attempts: 0,
    createdAtMs: T,
    nextAttemptAtMs: T,
    deliveredAtMs: null,
    lastError: null,
  };
}

/** A credit of `p` (bought in the cycle starting at T) as the ledger would write it. */
function credit(p: PurchaseRow, fields: Partial<CreditWrite> = {}): CreditWrite {
  return {
    purchase: p,
    version: 1,
    cycleStartMs: T,
    cycleDelta: { topupCount: 1, topupSpendMinor: p.priceMinor },
    response: JSON.stringify({ answered: p.idempotencyKey }),
    insertIntent: null,
    warning: null,
    autoTopup: null,
    webhooks: [],
    ...fields,
  };
}

/** The intent the ledger inserts, answered, when the pending one is gone. */
function answered(idempotencyKey: string, response: string): PurchaseIntentRow {
  return intent(idempotencyKey, T, {
    status: 'completed',
    response,
    charged: null,
    attempt: '',
  });
}

/** The five counters alone (the memory store's rows carry their key too). */
function countersOf(c: CycleCounters | null | undefined): CycleCounters | null {
  if (!c) return null;
  const { planUsedSeconds, extraUsedSeconds, overageSeconds, topupCount, topupSpendMinor } = c;
  return { planUsedSeconds, extraUsedSeconds, overageSeconds, topupCount, topupSpendMinor };
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

    it('never commits a transaction whose failed statement was swallowed', async () => {
      const row = intent('k1', T, { purchaseId: 'pur_1', paymentRef: 'pi_1' });
      await store.transact((tx) => tx.insertIntent(row));
      const swallowing = store.transact(async (tx) => {
        await tx.setWarning('acme', 'low');
        // A duplicate key, its error caught: SQLite and memory undo that
        // statement alone; PostgreSQL has aborted the whole transaction.
        await tx.insertIntent(row).catch(() => undefined);
        await tx.setWarning('other', 'low').catch(() => undefined);
      });
      const warnings = () =>
        store.transact(async (tx) => [
          (await tx.getAccount('acme'))?.warning,
          (await tx.getAccount('other'))?.warning,
        ]);
      if (store.kind === 'postgres') {
        await assert.rejects(swallowing, /rolled back at COMMIT \(ROLLBACK\)/);
        assert.deepEqual(await warnings(), [null, null], 'nothing committed');
      } else {
        await swallowing;
        assert.deepEqual(await warnings(), ['low', 'low']);
      }
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

    describe('the purchase path: readForPurchase and writeCredit', () => {
      /** Everything a credit may write, for comparing before and after. */
      const everything = () =>
        store.transact(async (tx) => ({
          account: await tx.getAccount('acme'),
          purchases: await tx.listPurchases('acme'),
          intents: [await tx.findIntent('acme', 'k1'), await tx.findIntent('acme', 'k2')],
          cycle: countersOf(await tx.getCycle('acme', T)),
          autoTopup: await tx.getAutoTopup('acme'),
          webhooks: await tx.listWebhooks(undefined, 100),
        }));

      it("reads the account, the key's intent and purchase, the cycle's counters and the auto top-up settings", async () => {
        const thePurchase = purchase('pur_1', 'pi_a', { idempotencyKey: 'k1' });
        const settings = autoTopup();
        const APRIL = Date.parse('2026-04-10T12:00:00Z');
        await store.transact(async (tx) => {
          await tx.insertIntent(intent('k1', T));
          await tx.insertPurchase(thePurchase);
          await tx.changeBalance('acme', 3000, 1);
          await tx.addToCycle('acme', T, { planUsedSeconds: 1200, overageSeconds: 30 });
          await tx.addToCycle('acme', T, { topupCount: 1, topupSpendMinor: 1500 });
          // The cycles before and after, and another account's rows under the same key.
          await tx.addToCycle('acme', Date.parse('2026-02-10T12:00:00Z'), { planUsedSeconds: 5 });
          await tx.addToCycle('acme', APRIL, { planUsedSeconds: 7 });
          await tx.putAutoTopup(settings);
          await tx.insertIntent({ ...intent('k1', T + 1), accountId: 'other' });
          await tx.insertPurchase({
            ...purchase('pur_o', 'pi_o', { idempotencyKey: 'k1' }),
            accountId: 'other',
          });
          await tx.addToCycle('other', T, { planUsedSeconds: 99 });
        });
        const account = await store.transact((tx) => tx.getAccount('acme'));
        const counters = {
          planUsedSeconds: 1200,
          extraUsedSeconds: 0,
          overageSeconds: 30,
          topupCount: 1,
          topupSpendMinor: 1500,
        };
        const read = (key: string, nowMs: number, accountId = 'acme') =>
          store.transact(async (tx) => {
            const r = await tx.readForPurchase(accountId, key, nowMs);
            return { ...r, counters: countersOf(r.counters) };
          });

        assert.deepEqual(await read('k1', T + 1000), {
          account,
          intent: intent('k1', T),
          purchase: thePurchase,
          counters,
          autoTopup: settings,
        });
        // The last instant of the 31-day cycle (from 2026-03-10T12:00Z): its counters still.
        assert.deepEqual((await read('k1', APRIL - 1)).counters, counters, 'end of the cycle');
        assert.deepEqual(
          (await read('k1', APRIL)).counters,
          { ...counters, planUsedSeconds: 7, overageSeconds: 0, topupCount: 0, topupSpendMinor: 0 },
          'the next cycle',
        );
        assert.equal((await read('k1', APRIL + 31 * 86_400_000)).counters, null, 'none yet');
        assert.deepEqual(
          await read('k-none', T + 1000),
          { account, intent: null, purchase: null, counters, autoTopup: settings },
          'a key not used',
        );

        await store.transact((tx) => tx.putAccount('bare', 'starter', T, T));
        assert.deepEqual(await read('k1', T + 1000, 'bare'), {
          account: await store.transact((tx) => tx.getAccount('bare')),
          intent: null,
          purchase: null,
          counters: null,
          autoTopup: null,
        });
        assert.deepEqual(await read('k1', T + 1000, 'nobody'), {
          account: null,
          intent: null,
          purchase: null,
          counters: null,
          autoTopup: null,
        });
      });

      it('writes the purchase, the balance and version, the cycle, the answer, the warning, the settings and the webhooks', async () => {
        await store.transact((tx) => tx.insertIntent(intent('k1', T)));
        const first = purchase('pur_1', 'pi_a', { idempotencyKey: 'k1' });
        const settings = autoTopup({ cycleCount: 1, sequence: 1 });
        await store.transact(async (tx) => {
          const read = await tx.readForPurchase('acme', 'k1', T);
          await tx.writeCredit(
            credit(first, {
              version: read.account!.version + 1,
              warning: 'low',
              autoTopup: settings,
              webhooks: [webhook('wh_1'), webhook('wh_2', 'balance.warning_changed')],
            }),
          );
        });
        let now = await everything();
        assert.deepEqual(
          [
            now.account?.version,
            now.account?.extraRemainingSeconds,
            now.account?.activePackages,
            now.account?.warning,
            now.account?.autoTopupBelowSeconds,
          ],
          [1, 3000, 1, 'low', 1800],
        );
        assert.deepEqual(now.purchases, [first]);
        assert.deepEqual(now.intents, [
          {
            ...intent('k1', T),
            status: 'completed',
            response: credit(first).response,
          },
          null,
        ]);
        assert.deepEqual(now.cycle, {
          planUsedSeconds: 0,
          extraUsedSeconds: 0,
          overageSeconds: 0,
          topupCount: 1,
          topupSpendMinor: 1500,
        });
        assert.deepEqual(now.autoTopup, settings);
        assert.deepEqual(
          now.webhooks.map((w) => [w.id, w.type]),
          [
            ['wh_2', 'balance.warning_changed'],
            ['wh_1', 'purchase.succeeded'],
          ],
          'in outbox order (listed newest first)',
        );

        // The intent gone: the answer is kept under the key as a completed one.
        const second = purchase('pur_2', 'pi_b', { idempotencyKey: 'k2', purchasedAtMs: T + 1 });
        const response = JSON.stringify({ answered: 'k2' });
        await store.transact(async (tx) => {
          const read = await tx.readForPurchase('acme', 'k2', T + 1);
          assert.equal(read.intent, null);
          await tx.writeCredit(
            credit(second, {
              version: read.account!.version + 1,
              response,
              insertIntent: answered('k2', response),
            }),
          );
        });
        now = await everything();
        assert.deepEqual(now.intents[1], answered('k2', response));
        assert.deepEqual(
          [now.account?.version, now.account?.extraRemainingSeconds, now.account?.warning],
          [2, 6000, 'low'],
          'no warning given: the one recorded stays',
        );
        assert.equal(now.cycle?.topupSpendMinor, 3000);
      });

      it('refuses a version other than the one it makes, and writes nothing', async () => {
        await store.transact((tx) => tx.insertIntent(intent('k1', T)));
        const before = await everything();
        const p = purchase('pur_1', 'pi_a', { idempotencyKey: 'k1' });
        for (const version of [0, 2, 7]) {
          await assert.rejects(
            store.transact(async (tx) => {
              await tx.readForPurchase('acme', 'k1', T);
              await tx.writeCredit(
                credit(p, {
                  version,
                  warning: 'exhausted',
                  autoTopup: autoTopup(),
                  webhooks: [webhook('wh_1')],
                }),
              );
            }),
            new RegExp(`writeCredit: version 1, expected ${version}`),
          );
          assert.deepEqual(await everything(), before, `nothing written (version ${version})`);
        }
        await store.transact((tx) => tx.writeCredit(credit(p, { version: 1 })));
        assert.equal((await everything()).account?.version, 1, 'the right one is written');
      });

      it('rejects with the error of a statement failing mid-way, writes nothing, and the store goes on', async () => {
        // A pending intent under k1: inserting the answer as a new one fails
        // (the key is taken) after the purchase, balance and cycle were written.
        await store.transact((tx) => tx.insertIntent(intent('k1', T)));
        const before = await everything();
        const p = purchase('pur_1', 'pi_a', { idempotencyKey: 'k1' });
        const write = credit(p, {
          insertIntent: answered('k1', '{}'),
          warning: 'exhausted',
          autoTopup: autoTopup(),
          webhooks: [webhook('wh_1'), webhook('wh_2')],
        });
        const error = await store
          .transact(async (tx) => {
            await tx.readForPurchase('acme', 'k1', T);
            await tx.writeCredit(write);
          })
          .then(
            () => null,
            (e: unknown) => e,
          );
        assert.ok(error instanceof Error, 'rejected');
        assert.match(error.message, /duplicate|unique/i, 'the failing statement speaks');
        assert.doesNotMatch(error.message, /aborted|version/i);
        assert.deepEqual(await everything(), before, 'nothing written');

        // The store goes on: the same credit, completing the pending intent.
        await store.transact(async (tx) => {
          const read = await tx.readForPurchase('acme', 'k1', T);
          assert.equal(read.account?.version, 0);
          await tx.writeCredit({ ...write, insertIntent: null });
        });
        const now = await everything();
        assert.deepEqual([now.account?.version, now.account?.warning], [1, 'exhausted']);
        assert.deepEqual(now.purchases, [p]);
        assert.equal(now.intents[0]?.status, 'completed');
        assert.equal(now.webhooks.length, 2);
      });

      it("waits for a concurrent holder of the account's lock and reads what it committed", async () => {
        await store.transact((tx) => tx.insertIntent(intent('k1', T)));
        const p = purchase('pur_1', 'pi_a', { idempotencyKey: 'k1' });
        const settings = autoTopup({ cycleCount: 1 });
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const holding = new Promise<void>((resolve) => (locked = resolve));
        const holder = store.transact(async (tx) => {
          await tx.getAccount('acme', true);
          locked();
          await gate;
          await tx.writeCredit(credit(p, { autoTopup: settings, warning: 'low' }));
        });
        await holding;
        let settled = false;
        const reader = store.transact((tx) => tx.readForPurchase('acme', 'k1', T + 1000));
        reader.then(
          () => (settled = true),
          () => (settled = true),
        );
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal(settled, false, 'the reader waits for the lock');
        release();
        await holder;
        const read = await reader;
        assert.deepEqual(
          [read.account?.version, read.account?.extraRemainingSeconds, read.account?.warning],
          [1, 3000, 'low'],
        );
        assert.deepEqual(read.intent, {
          ...intent('k1', T),
          status: 'completed',
          response: credit(p).response,
        });
        assert.deepEqual(read.purchase, p);
        assert.deepEqual(countersOf(read.counters), {
          planUsedSeconds: 0,
          extraUsedSeconds: 0,
          overageSeconds: 0,
          topupCount: 1,
          topupSpendMinor: 1500,
        });
        assert.deepEqual(read.autoTopup, settings);
      });
    });
  });
}
