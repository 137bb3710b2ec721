/**
 * Payments racing each other, on every store, with a gateway whose every
 * answer the test scripts: the processor's events in any order, a refund
 * that lands while a retry asks about the payment or while a credit
 * commits, a lost answer followed by a retry when the card is gone. In each,
 * a payment is credited at most once, a refunded one never, and a paid one
 * is never forgotten. (Found by review; each was a bug.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCatalog, findPackage } from '../../server/domain/catalog.js';
import { minutesToSeconds } from '../../server/domain/counters.js';
import { DomainError } from '../../server/domain/errors.js';
import { Ledger } from '../../server/ledger/ledger.js';
import type {
  ChargeLookup,
  ChargeRequest,
  ChargeResult,
  PaymentGateway,
  RefundResult,
} from '../../server/payments/gateway.js';
import type { LedgerStore } from '../../server/store/types.js';
import { assertInvariants, manualClock, storeFactories } from '../support/api.js';
import type { PurchaseResultDto } from '../../contract/index.js';

/** A gateway whose answers the scenario sets. */
class ScriptedGateway implements PaymentGateway {
  onCharge: (r: ChargeRequest) => Promise<ChargeResult> = async () => {
    throw new Error('no charge scripted');
  };
  onState: (reference: string) => Promise<ChargeResult> = async () => {
    throw new Error('no state scripted');
  };
  onFind: (lookup: ChargeLookup) => Promise<ChargeResult | null> = async () => null;
  readonly charges: ChargeRequest[] = [];
  charge(r: ChargeRequest) {
    this.charges.push(r);
    return this.onCharge(r);
  }
  chargeState(reference: string) {
    return this.onState(reference);
  }
  findCharge(lookup: ChargeLookup) {
    return this.onFind(lookup);
  }
  async refund(): Promise<RefundResult> {
    throw new Error('no refund scripted');
  }
}

const waiting = (reference: string): ChargeResult => ({
  status: 'requires_action',
  reference,
  clientSecret: `${reference}_secret`,
});
const MEDIUM_SECONDS = minutesToSeconds(findPackage(defaultCatalog, 'medium').minutes);

for (const factory of storeFactories) {
  describe(`payments racing each other (${factory.name} store)`, () => {
    async function setup(afterRead?: () => Promise<void>) {
      const gateway = new ScriptedGateway();
      const store = await factory.open();
      // Runs `afterRead` once, right after the next read-only transaction.
      let hook = afterRead;
      const racing: LedgerStore = Object.assign(Object.create(store), {
        transact: async (...args: Parameters<LedgerStore['transact']>) => {
          const out = await store.transact(...args);
          if (args[1]?.readOnly && hook) {
            const run = hook;
            hook = undefined;
            await run();
          }
          return out;
        },
      });
      const unpaired: string[] = [];
      const ledger = new Ledger({
        store: racing,
        catalog: defaultCatalog,
        gateway,
        logError: (e) => unpaired.push(e.message),
      });
      await ledger.putAccount('a', 'starter', undefined, 'cus_1');
      const extra = async () => (await ledger.balance('a')).extra.remainingSeconds;
      const statuses = async () => (await ledger.listPurchases('a')).map((p) => p.status);
      const event = (eventId: string, paymentRef: string, attempt = '') => ({
        eventId,
        type: 'payment_intent.succeeded',
        accountId: 'a',
        purchaseKey: 'k',
        paymentRef,
        attempt,
      });
      const arm = (run: () => Promise<void>) => {
        hook = run;
      };
      return { gateway, store, ledger, extra, statuses, event, unpaired, arm };
    }

    it("credits no older attempt's late success (it was refunded before it was credited)", async () => {
      const { gateway, store, ledger, extra, statuses, event, unpaired } = await setup();
      gateway.onCharge = async () => waiting('pi_1');
      assert.equal((await ledger.purchase('a', 'medium', 'k')).status, 202);
      const refund = { eventId: 'e1', type: 'charge.refunded', paymentRef: 'pi_1' };
      assert.equal(await ledger.payments.paymentRefunded(refund), 'applied');
      assert.deepEqual(await statuses(), ['failed']);
      gateway.onCharge = async () => waiting('pi_2');
      assert.equal((await ledger.purchase('a', 'medium', 'k')).status, 202, 'a new attempt');
      assert.equal(await ledger.payments.paymentSucceeded(event('e2', 'pi_1')), 'unknown');
      assert.equal(await extra(), 0, 'pi_1 was refunded and pi_2 is not paid');
      assert.equal(unpaired.length, 1, 'told to an operator');
      assertInvariants(await store.audit());
    });

    it('credits nothing when the payment is refunded while a retry asks about it', async () => {
      const { gateway, store, ledger, extra } = await setup();
      gateway.onCharge = async () => waiting('pi_1');
      await ledger.purchase('a', 'medium', 'k');
      gateway.onState = async (reference) => {
        const refund = { eventId: 'e1', type: 'charge.refunded', paymentRef: reference };
        assert.equal(await ledger.payments.paymentRefunded(refund), 'applied');
        return { status: 'approved', reference }; // a refunded PaymentIntent is still `succeeded`
      };
      await assert.rejects(
        ledger.purchase('a', 'medium', 'k'),
        (e) => e instanceof DomainError && e.code === 'payment_declined',
      );
      assert.equal(await extra(), 0);
      assertInvariants(await store.audit());
    });

    it('refunds a purchase whose credit commits between the refund read and its write', async () => {
      const { gateway, store, ledger, extra, statuses, event, arm } = await setup();
      gateway.onCharge = async () => waiting('pi_1');
      await ledger.purchase('a', 'medium', 'k');
      arm(async () => {
        assert.equal(await ledger.payments.paymentSucceeded(event('e1', 'pi_1')), 'applied');
      });
      const refund = { eventId: 'e2', type: 'charge.refunded', paymentRef: 'pi_1' };
      assert.equal(await ledger.payments.paymentRefunded(refund), 'applied');
      assert.equal(await ledger.payments.paymentRefunded(refund), 'duplicate');
      assert.equal(await extra(), 0, 'the refund voided the credited minutes');
      assert.deepEqual(await statuses(), ['refunded']);
      assertInvariants(await store.audit());
    });

    it('finds the charge of a lost answer on the retry even when the card is gone meanwhile', async () => {
      const { gateway, store, ledger, extra, event } = await setup();
      gateway.onCharge = async () => {
        throw new DomainError('payment_unavailable', 'timeout'); // pi_1 was made, all the same
      };
      await assert.rejects(ledger.purchase('a', 'medium', 'k'), /timeout/);
      // The customer removed their card: a charge now would be refused at home.
      gateway.onCharge = async () => ({
        status: 'declined',
        code: 'payment_method_required',
        reason: 'no default payment method',
      });
      gateway.onFind = async (lookup) => {
        assert.equal(lookup.customerId, 'cus_1', "the attempt's own customer");
        return { status: 'approved', reference: 'pi_1' };
      };
      const retried = await ledger.purchase('a', 'medium', 'k');
      assert.equal(retried.status, 201);
      assert.equal(await extra(), MEDIUM_SECONDS);
      assert.equal(gateway.charges.length, 1, 'no second charge');
      assert.equal(await ledger.payments.paymentSucceeded(event('e1', 'pi_1')), 'applied');
      assert.equal(await extra(), MEDIUM_SECONDS, 'credited once');
      assertInvariants(await store.audit());
    });

    it("recovers a lost answer's charge from the customer it was made for, after a relink", async () => {
      const { gateway, store, ledger, extra } = await setup();
      gateway.onCharge = async () => {
        throw new DomainError('payment_unavailable', 'timeout');
      };
      await assert.rejects(ledger.purchase('a', 'medium', 'k'), /timeout/);
      await ledger.putAccount('a', 'starter', undefined, 'cus_2');
      gateway.onFind = async (lookup) =>
        lookup.customerId === 'cus_1' ? { status: 'approved', reference: 'pi_1' } : null;
      assert.equal(await ledger.completePendingPurchases(), 1);
      assert.equal(await extra(), MEDIUM_SECONDS);
      assertInvariants(await store.audit());
    });

    it('forgets the attempt of a lost answer only when the processor has no charge of it', async () => {
      const { gateway, store, ledger, extra, event, unpaired } = await setup();
      gateway.onCharge = async () => {
        throw new DomainError('payment_unavailable', 'timeout');
      };
      await assert.rejects(ledger.purchase('a', 'medium', 'k'), /timeout/);
      gateway.onCharge = async () => ({
        status: 'declined',
        code: 'payment_method_required',
        reason: 'no default payment method',
      });
      await assert.rejects(ledger.purchase('a', 'medium', 'k'), /no default payment method/);
      assert.equal(await extra(), 0);
      // Were a payment of it to succeed after all, an operator hears of it.
      assert.equal(await ledger.payments.paymentSucceeded(event('e1', 'pi_1')), 'unknown');
      assert.equal(unpaired.length, 1);
      assertInvariants(await store.audit());
    });
  });
}

for (const factory of storeFactories) {
  describe(`a purchase that waits for its account across a cycle's end (${factory.name} store)`, () => {
    it('is counted in the cycle that began while it waited, and answers with it', async () => {
      const store = await factory.open();
      const anchor = Date.parse('2026-03-01T00:00:00Z');
      const clock = manualClock(Date.parse('2026-03-31T23:59:59.999Z'));
      // The credit's lock is granted 2 ms later: the March cycle has ended.
      let reads = 0;
      const waiting: LedgerStore = Object.assign(Object.create(store), {
        transact: (...[fn, options]: Parameters<LedgerStore['transact']>) =>
          store.transact(
            (tx) =>
              fn(
                Object.assign(Object.create(tx), {
                  readForPurchase: async (...args: Parameters<typeof tx.readForPurchase>) => {
                    const read = await tx.readForPurchase(...args);
                    if (++reads === 2) clock.advance(2);
                    return read;
                  },
                }),
              ),
            options,
          ),
      });
      const gateway = new ScriptedGateway();
      gateway.onCharge = async (r) => ({ status: 'approved', reference: `pi_${r.attempt}` });
      const ledger = new Ledger({ store: waiting, catalog: defaultCatalog, gateway, clock });
      await ledger.putAccount('a', 'starter', new Date(anchor).toISOString());
      const outcome = await ledger.purchase('a', 'medium', 'k');
      assert.equal(outcome.status, 201);
      const april = Date.parse('2026-04-01T00:00:00Z');
      assert.equal(reads, 2, 'the intent, then the credit');
      assert.equal(
        (outcome.body as PurchaseResultDto).balance.plan.cycleStart,
        new Date(april).toISOString(),
      );
      const counted = await store.transact(async (tx) => ({
        march: (await tx.getCycle('a', anchor))?.topupCount ?? 0,
        april: (await tx.getCycle('a', april))?.topupCount ?? 0,
      }));
      assert.deepEqual(counted, { march: 0, april: 1 });
      assertInvariants(await store.audit());
      await store.close();
    });
  });
}
