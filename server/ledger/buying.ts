import type { PurchaseResultDto } from '../../contract/index.js';
import {
  cycleContaining,
  DomainError,
  findPackage,
  minutesToSeconds,
  type Catalog,
  type PackageDef,
} from '../domain/index.js';
import type { Clock } from '../clock.js';
import { balanceOf, purchaseDto, READ, requireAccount } from './reads.js';
import {
  ChargeConflictError,
  chargeKeyOf,
  legacyChargeKeyOf,
  type PaymentGateway,
} from '../payments/gateway.js';
import type {
  AccountRow,
  ChargedPackage,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
  PurchaseRow,
} from '../store/types.js';

export interface BuyingDeps {
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
export class Buying {
  private readonly store: LedgerStore;
  private readonly catalog: Catalog;
  private readonly gateway: PaymentGateway;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly lowThreshold: number;

  constructor(deps: BuyingDeps) {
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
  async buy(
    accountId: string,
    packageId: string,
    idempotencyKey: string,
  ): Promise<PurchaseResultDto> {
    const pkg = findPackage(this.catalog, packageId);
    const { intent, created } = await this.store.transact(async (tx) => {
      await requireAccount(tx, accountId, true);
      const found = await tx.findIntent(accountId, idempotencyKey);
      if (found) {
        if (found.packageId !== packageId) throw keyReused();
        return { intent: found, created: false };
      }
      const row: PurchaseIntentRow = {
        accountId,
        idempotencyKey,
        packageId,
        status: 'pending',
        response: null,
        createdAtMs: this.clock.now(),
        charged: chargedFrom(pkg, this.catalog.currency),
      };
      await tx.insertIntent(row);
      return { intent: row, created: true };
    });
    if (intent.status === 'completed' && intent.response) {
      return JSON.parse(intent.response) as PurchaseResultDto;
    }
    // A retry charges what the intent was recorded for, whatever the catalog
    // says now (an intent of the earlier version: the catalog's package).
    const charged = this.chargedOf(intent);
    if (!created) {
      const earlier = await this.findLegacyCharge(intent, charged);
      if (earlier) {
        return this.credit(accountId, idempotencyKey, packageId, charged, earlier.reference);
      }
    }
    // A gateway that refuses the key (`charge_conflict`) throws: the pending
    // intent stays, as a charge under this key exists, for an operator to see.
    const charge = await this.gateway.charge({
      idempotencyKey: await chargeKeyOf(accountId, idempotencyKey),
      accountId,
      amountMinor: charged.priceMinor,
      currency: charged.currency,
      description: `${charged.name}: ${charged.minutes} voice minutes`,
    });
    if (charge.status === 'declined') {
      // Nothing was charged: forget the attempt, so the key is free again.
      await this.store.transact((tx) => tx.deleteIntent(accountId, idempotencyKey));
      throw new DomainError('payment_declined', `Payment declined: ${charge.reason}`);
    }
    return this.credit(accountId, idempotencyKey, packageId, charged, charge.reference);
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
        const charged = this.chargedOf(intent);
        const charge =
          (await this.gateway.findCharge({
            idempotencyKey: await chargeKeyOf(intent.accountId, intent.idempotencyKey),
            accountId: intent.accountId,
            amountMinor: charged.priceMinor,
            currency: charged.currency,
          })) ?? (await this.findLegacyCharge(intent, charged));
        if (!charge) continue;
        await this.credit(
          intent.accountId,
          intent.idempotencyKey,
          intent.packageId,
          charged,
          charge.reference,
        );
        completed += 1;
      } catch (error) {
        onError(intent, error);
      }
    }
    return completed;
  }

  /**
   * What an intent charges for: as recorded with it, or — an intent of the
   * earlier version, which recorded nothing — the catalog's package now.
   */
  private chargedOf(intent: PurchaseIntentRow): ChargedPackage {
    return (
      intent.charged ??
      chargedFrom(findPackage(this.catalog, intent.packageId), this.catalog.currency)
    );
  }

  /**
   * COMPATIBILITY for charges made before this version: an intent the earlier
   * version recorded (it has no `charged`) may have been charged under that
   * version's gateway key (`legacyChargeKeyOf`). Such a charge is this
   * purchase's only if it was made for the intent's account, amount and
   * currency: one for another account (the old key was ambiguous) is not,
   * and is ignored; one for this account at another amount or currency is
   * refused (`charge_conflict`) rather than charged a second time.
   */
  private async findLegacyCharge(
    intent: PurchaseIntentRow,
    charged: ChargedPackage,
  ): Promise<{ reference: string } | null> {
    if (intent.charged) return null;
    try {
      return await this.gateway.findCharge({
        idempotencyKey: legacyChargeKeyOf(intent.accountId, intent.idempotencyKey),
        accountId: intent.accountId,
        amountMinor: charged.priceMinor,
        currency: charged.currency,
      });
    } catch (error) {
      if (error instanceof ChargeConflictError && error.differs.includes('accountId')) return null;
      throw error;
    }
  }

  /**
   * Credits a charged purchase, once: adds the package's minutes and records
   * the answer under the key. A key already answered replays its answer.
   */
  private async credit(
    accountId: string,
    idempotencyKey: string,
    packageId: string,
    charged: ChargedPackage,
    paymentRef: string,
  ): Promise<PurchaseResultDto> {
    return this.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      const intent = await tx.findIntent(accountId, idempotencyKey);
      if (intent?.status === 'completed' && intent.response) {
        return JSON.parse(intent.response) as PurchaseResultDto;
      }
      const now = this.clock.now();
      const bought = { accountId, idempotencyKey, packageId, charged };
      // The key may have created its purchase already, its intent row gone
      // (a concurrent attempt was declined and forgot it): answer with it.
      const purchase =
        (await tx.findPurchaseByKey(accountId, idempotencyKey)) ??
        (await this.addPurchase(tx, account, bought, paymentRef, now));
      const result: PurchaseResultDto = {
        purchase: purchaseDto(purchase),
        balance: await balanceOf(
          tx,
          await requireAccount(tx, accountId),
          this.catalog,
          this.clock.now(),
          this.lowThreshold,
        ),
      };
      await recordAnswer(tx, intent, bought, JSON.stringify(result), now);
      return result;
    });
  }

  /** A new active purchase: its minutes join the extra balance, its price the cycle's top-ups. */
  private async addPurchase(
    tx: LedgerTx,
    account: AccountRow,
    bought: Bought,
    paymentRef: string,
    now: number,
  ): Promise<PurchaseRow> {
    const { charged } = bought;
    const seconds = minutesToSeconds(charged.minutes);
    const row: PurchaseRow = {
      id: this.newId(),
      accountId: account.id,
      packageId: bought.packageId,
      name: charged.name,
      minutes: charged.minutes,
      priceMinor: charged.priceMinor,
      currency: charged.currency,
      purchasedAtMs: now,
      totalSeconds: seconds,
      remainingSeconds: seconds,
      status: 'active',
      paymentRef,
      idempotencyKey: bought.idempotencyKey,
    };
    await tx.insertPurchase(row);
    await tx.adjustExtra(account.id, row.totalSeconds, 1);
    const cycle = cycleContaining(account.cycleAnchorMs, now);
    await tx.addToCycle(account.id, cycle.start, {
      topupCount: 1,
      topupSpendMinor: charged.priceMinor,
    });
    return row;
  }
}

/** What a key bought: the account, the package and what it was charged for. */
interface Bought {
  accountId: string;
  idempotencyKey: string;
  packageId: string;
  charged: ChargedPackage;
}

/**
 * Keeps the answer under its key, so that a repeat replays it: completes the
 * pending intent, or records a completed one when the intent is gone.
 */
async function recordAnswer(
  tx: LedgerTx,
  intent: PurchaseIntentRow | null,
  bought: Bought,
  response: string,
  now: number,
): Promise<void> {
  if (intent) await tx.completeIntent(bought.accountId, bought.idempotencyKey, response);
  else await tx.insertIntent({ ...bought, status: 'completed', response, createdAtMs: now });
}

/** The package as the catalog offers it now, in the catalog's currency. */
function chargedFrom(pkg: PackageDef, currency: string): ChargedPackage {
  return { name: pkg.name, minutes: pkg.minutes, priceMinor: pkg.priceMinor, currency };
}

function keyReused(): DomainError {
  return new DomainError(
    'idempotency_key_reused',
    'This Idempotency-Key was already used for a different purchase.',
  );
}
