import type { PurchaseResultDto } from './contract.js';
import { cycleContaining, DomainError, findPackage, type Catalog } from './domain/index.js';
import type { Clock } from './ledger.js';
import { balanceOf, purchaseDto, READ, requireAccount } from './ledger-reads.js';
import { chargeKeyOf, type PaymentGateway } from './payments.js';
import type { LedgerStore, PurchaseIntentRow, PurchaseRow } from './store/types.js';

export interface PurchaseDeps {
  store: LedgerStore;
  catalog: Catalog;
  gateway: PaymentGateway;
  clock: Clock;
  newId: () => string;
  lowThreshold: number;
}

/**
 * Buying a package: record the intent, charge the gateway under the
 * idempotency key, credit the minutes — each step safe to repeat, so a retry
 * or a restart completes what a crash interrupted, with one charge.
 */
export class Purchases {
  private readonly store: LedgerStore;
  private readonly catalog: Catalog;
  private readonly gateway: PaymentGateway;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly lowThreshold: number;

  constructor(deps: PurchaseDeps) {
    this.store = deps.store;
    this.catalog = deps.catalog;
    this.gateway = deps.gateway;
    this.clock = deps.clock;
    this.newId = deps.newId;
    this.lowThreshold = deps.lowThreshold;
  }

  /**
   * Buys a package. The first call with a key records the intent, charges the
   * gateway under that key, then credits the minutes; a repeat of the key
   * returns the first result, and a repeat after a crash between charge and
   * credit finds the charge already made (no second charge) and credits it.
   */
  async purchase(
    accountId: string,
    packageId: string,
    idempotencyKey: string,
  ): Promise<PurchaseResultDto> {
    const pkg = findPackage(this.catalog, packageId);
    const intent = await this.store.transact(async (tx) => {
      await requireAccount(tx, accountId, true);
      const found = await tx.findIntent(accountId, idempotencyKey);
      if (found) {
        if (found.packageId !== packageId) throw keyReused();
        return found;
      }
      const row = {
        accountId,
        idempotencyKey,
        packageId,
        status: 'pending' as const,
        response: null,
        createdAtMs: this.clock.now(),
      };
      await tx.insertIntent(row);
      return row;
    });
    if (intent.status === 'completed' && intent.response) {
      return JSON.parse(intent.response) as PurchaseResultDto;
    }
    // A gateway that refuses the key (`charge_conflict`) throws: the pending
    // intent stays, as a charge under this key exists, for an operator to see.
    const charge = await this.gateway.charge({
      idempotencyKey: await chargeKeyOf(accountId, idempotencyKey),
      accountId,
      amountMinor: pkg.priceMinor,
      currency: this.catalog.currency,
      description: `${pkg.name}: ${pkg.minutes} voice minutes`,
    });
    if (charge.status === 'declined') {
      // Nothing was charged: forget the attempt, so the key is free again.
      await this.store.transact((tx) => tx.deleteIntent(accountId, idempotencyKey));
      throw new DomainError('payment_declined', `Payment declined: ${charge.reason}`);
    }
    return this.credit(accountId, idempotencyKey, packageId, charge.reference);
  }
  /**
   * Completes purchases whose charge was approved but whose minutes were
   * never credited (the process died in between). Run at start-up.
   */
  async completePendingPurchases(
    onError: (intent: PurchaseIntentRow, error: unknown) => void = () => undefined,
  ): Promise<number> {
    const pending = await this.store.transact((tx) => tx.pendingIntents(), READ);
    let completed = 0;
    for (const intent of pending) {
      // One intent that cannot be completed (its package left the catalog,
      // say) must not keep the others — or the server — from starting.
      try {
        const pkg = findPackage(this.catalog, intent.packageId);
        const charge = await this.gateway.findCharge({
          idempotencyKey: await chargeKeyOf(intent.accountId, intent.idempotencyKey),
          accountId: intent.accountId,
          amountMinor: pkg.priceMinor,
          currency: this.catalog.currency,
        });
        if (!charge) continue;
        await this.credit(
          intent.accountId,
          intent.idempotencyKey,
          intent.packageId,
          charge.reference,
        );
        completed += 1;
      } catch (error) {
        onError(intent, error);
      }
    }
    return completed;
  }
  private async credit(
    accountId: string,
    idempotencyKey: string,
    packageId: string,
    paymentRef: string,
  ): Promise<PurchaseResultDto> {
    const pkg = findPackage(this.catalog, packageId);
    return this.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      const intent = await tx.findIntent(accountId, idempotencyKey);
      if (intent?.status === 'completed' && intent.response) {
        return JSON.parse(intent.response) as PurchaseResultDto;
      }
      const now = this.clock.now();
      // The key may have created its purchase already, its intent row gone
      // (a concurrent attempt was declined and forgot it): answer with it.
      const existing = await tx.findPurchaseByKey(accountId, idempotencyKey);
      const row: PurchaseRow = existing ?? {
        id: this.newId(),
        accountId,
        packageId: pkg.id,
        name: pkg.name,
        minutes: pkg.minutes,
        priceMinor: pkg.priceMinor,
        currency: this.catalog.currency,
        purchasedAtMs: now,
        totalSeconds: pkg.minutes * 60,
        remainingSeconds: pkg.minutes * 60,
        status: 'active',
        paymentRef,
        idempotencyKey,
      };
      if (!existing) {
        await tx.insertPurchase(row);
        await tx.adjustExtra(accountId, row.totalSeconds, 1);
        const cycle = cycleContaining(account.cycleAnchorMs, now);
        await tx.addToCycle(accountId, cycle.start, {
          topupCount: 1,
          topupSpendMinor: pkg.priceMinor,
        });
      }
      const result: PurchaseResultDto = {
        purchase: purchaseDto(row),
        balance: await balanceOf(
          tx,
          await requireAccount(tx, accountId),
          this.catalog,
          this.clock.now(),
          this.lowThreshold,
        ),
      };
      const response = JSON.stringify(result);
      if (intent) await tx.completeIntent(accountId, idempotencyKey, response);
      else {
        await tx.insertIntent({
          accountId,
          idempotencyKey,
          packageId,
          status: 'completed',
          response,
          createdAtMs: now,
        });
      }
      return result;
    });
  }
}

function keyReused(): DomainError {
  return new DomainError(
    'idempotency_key_reused',
    'This Idempotency-Key was already used for a different purchase.',
  );
}
