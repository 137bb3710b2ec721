import type { PurchaseActionDto, PurchaseDto, PurchaseResultDto } from '../../contract/index.js';
import {
  cycleContaining,
  DomainError,
  findPackage,
  minutesToSeconds,
  type Catalog,
} from '../domain/index.js';
import type { Clock } from '../clock.js';
import { isOperatorIntent } from './operator-keys.js';
import { autoTopupCredited, autoTopupFailed, isAutoTopupIntent } from './auto-topup.js';
import type { Notices } from './notices.js';
import {
  accountNotFound,
  activePurchase,
  balanceOf,
  chargedFrom,
  iso,
  keyReused,
  purchaseDto,
  READ,
  requireAccount,
  storedAnswer,
  voidPurchase,
} from './reads.js';
import { randomUuid } from '../../contract/random-uuid.js';
import {
  AUTHENTICATION_NEEDED,
  ChargeConflictError,
  chargeKeyOf,
  legacyChargeKeyOf,
  type ChargeRequest,
  type ChargeResult,
  type PaymentGateway,
} from '../payments/gateway.js';
import type {
  AccountRow,
  ChargedPackage,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
  PurchaseReads,
} from '../store/types.js';

export interface BuyingDeps {
  /** Where payments the ledger cannot pair with a purchase are reported (for an operator). */
  logError: (error: Error) => void;
  /** Told after each committed change of an account's balance (see `LedgerOptions.onChange`). */
  changed: (accountId: string, version: number) => void;
  store: LedgerStore;
  catalog: Catalog;
  gateway: PaymentGateway;
  clock: Clock;
  newId: () => string;
  lowThreshold: number;
  /** The outbox of webhooks to the host. */
  notices: Notices;
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
  private readonly changed: BuyingDeps['changed'];
  private readonly logError: BuyingDeps['logError'];
  private readonly notices: Notices;

  constructor(deps: BuyingDeps) {
    this.notices = deps.notices;
    this.logError = deps.logError;
    this.changed = deps.changed;
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
   *
   * A charge that waits for the customer (`requires_action`: their bank wants
   * them to authenticate) or for the processor (`processing`) answers 202
   * with the purchase to be and, for the former, the `clientSecret`; a repeat
   * of the key asks the gateway where that charge stands and credits it once
   * it is paid (as the processor's webhook does: whichever comes first). A
   * decline leaves nothing and frees the key; so does a payment that fails
   * after a 202, which the history then shows as `failed` until the key is
   * used again — as a new attempt, with a new charge.
   */
  async buy(
    accountId: string,
    packageId: string,
    idempotencyKey: string,
  ): Promise<PurchaseOutcome> {
    const pkg = findPackage(this.catalog, packageId);
    const { intent, created } = await this.store.transact(async (tx) => {
      const read = await lockIntent(tx, accountId, idempotencyKey, this.clock);
      const { account, intent: found } = read;
      if (found) {
        if (found.packageId !== packageId) throw keyReused();
        if (found.status === 'pending' && found.paymentState === 'failed') {
          // The payment failed after a 202: the key is free again, for a new
          // attempt, charged to the account's customer of now.
          const retry: PurchaseIntentRow = {
            ...found,
            attempt: randomUuid(),
            paymentRef: null,
            paymentState: null,
            customerId: account.stripeCustomerId,
          };
          await tx.updateIntentPayment(retry);
          return { intent: retry, created: true };
        }
        // An intent of an earlier version kept no customer: the account's.
        return {
          intent: { ...found, customerId: found.customerId ?? account.stripeCustomerId },
          created: false,
        };
      }
      const row: PurchaseIntentRow = {
        accountId,
        idempotencyKey,
        packageId,
        status: 'pending',
        response: null,
        createdAtMs: read.nowMs,
        charged: chargedFrom(pkg, this.catalog.currency),
        attempt: randomUuid(),
        // Given with the first 202 that announces the purchase (else at the credit).
        purchaseId: null,
        paymentRef: null,
        paymentState: null,
        customerId: account.stripeCustomerId,
      };
      await tx.insertIntent(row);
      return { intent: row, created: true };
    });
    const replay = storedAnswer<PurchaseResultDto>(intent);
    if (replay) return credited(replay);
    // A retry charges what the intent was recorded for, whatever the catalog
    // says now (an intent of the earlier version: the catalog's package).
    const charged = this.chargedOf(intent);
    if (!created) {
      const earlier = await this.findLegacyCharge(intent, charged);
      if (earlier) return credited(await this.credit(intent, charged, earlier.reference));
    }
    // A charge answered with a 202 is asked where it stands. A retry of one
    // whose answer may have been lost looks for it first: the processor may
    // no longer replay its key (Stripe forgets keys after 24 hours), and the
    // account may have another card or customer by now. Otherwise it is
    // (re)made under its key and attempt — the gateway replays its first
    // answer. A gateway that refuses the key (`charge_conflict`) or cannot
    // be reached (`payment_unavailable`) throws: the pending intent stays, as
    // a charge under this key may exist, for a retry or the recovery to find.
    const request = await chargeRequestOf(intent, charged);
    const lookup = { ...request, sinceMs: intent.createdAtMs };
    const state =
      intent.paymentRef && intent.paymentState
        ? await this.gateway.chargeState(intent.paymentRef)
        : (!created && (await this.gateway.findCharge(lookup))) ||
          (await this.gateway.charge(request).catch(async (error: unknown) => {
            // A retry whose request differs from the first one made under its
            // key (Stripe compares every parameter: the customer changed their
            // card meanwhile) is refused; the charge the first one made stands.
            if (created || !(error instanceof DomainError && error.code === 'charge_conflict')) {
              throw error;
            }
            const found = await this.gateway.findCharge(lookup);
            if (!found) throw error;
            return found;
          }));
    return this.settle(intent, charged, state);
  }

  /** Acts on where a purchase's charge stands: credit, forget, or wait (202). */
  private async settle(
    intent: PurchaseIntentRow,
    charged: ChargedPackage,
    charge: ChargeResult,
  ): Promise<PurchaseOutcome> {
    // No customer is there to authenticate an auto top-up's payment.
    const state: ChargeResult =
      charge.status === 'requires_action' && isAutoTopupIntent(intent)
        ? { status: 'declined', reason: AUTHENTICATION_NEEDED }
        : charge;
    switch (state.status) {
      case 'approved':
        return credited(await this.credit(intent, charged, state.reference));
      case 'declined': {
        const version = await this.store.transact(async (tx) => {
          const read = await lockIntent(tx, intent.accountId, intent.idempotencyKey, this.clock);
          return this.forget(tx, read.account, read.intent, intent, state.reason);
        });
        if (version !== undefined) this.changed(intent.accountId, version);
        throw new DomainError(
          state.code ?? 'payment_declined',
          state.code ? state.reason : `Payment declined: ${state.reason}`,
        );
      }
      default: {
        const paymentState = state.status;
        const waiting = await this.store.transact(async (tx) => {
          const read = await lockIntent(tx, intent.accountId, intent.idempotencyKey, this.clock);
          const now = read.intent;
          // Forgotten, and the key taken by an operator's grant meanwhile.
          if (now && now.packageId !== intent.packageId) throw keyReused();
          // Credited meanwhile (the webhook came first): replay that answer.
          if (now?.status === 'completed' && now.response) return now;
          // Another attempt started meanwhile: this answer is about an old one.
          if (now && now.attempt !== intent.attempt) throw attemptMoved();
          const current = now ?? intent;
          const row = {
            ...current,
            purchaseId: current.purchaseId ?? this.newId(),
            paymentRef: state.reference,
            paymentState,
          };
          // Gone (a concurrent request was refused locally and forgot it while
          // this charge waited at the processor): the purchase exists again.
          if (now) await tx.updateIntentPayment(row);
          else await tx.insertIntent(row);
          return row;
        });
        const replayed = storedAnswer<PurchaseResultDto>(waiting);
        if (replayed) return credited(replayed);
        return {
          status: 202,
          body: {
            purchase: awaitingPurchaseDto(waiting, charged),
            clientSecret: state.status === 'requires_action' ? state.clientSecret : null,
          },
        };
      }
    }
  }

  /**
   * Nothing was charged, or the payment failed after a 202: the key is free
   * again. An intent that was answered with a 202 stays, as `failed`, so the
   * history shows what happened; one that was not is forgotten.
   */
  private async forget(
    tx: LedgerTx,
    account: AccountRow,
    /** The intent under the key as read under the lock. */
    now: PurchaseIntentRow | null,
    intent: PurchaseIntentRow,
    reason: string,
  ): Promise<number | undefined> {
    if (!now || now.status !== 'pending' || now.attempt !== intent.attempt) return undefined;
    if (now.paymentState) await tx.updateIntentPayment({ ...now, paymentState: 'failed' });
    else await tx.deleteIntent(intent.accountId, intent.idempotencyKey);
    return this.failed(tx, account, now, reason);
  }

  /**
   * A purchase's payment did not go through (the account locked): the host
   * hears of it, and an auto top-up's pauses. Returns the new version when
   * the account changed.
   */
  private async failed(
    tx: LedgerTx,
    account: AccountRow,
    intent: PurchaseIntentRow,
    reason: string,
  ): Promise<number | undefined> {
    await this.notices.emit(tx, 'purchase.failed', {
      accountId: intent.accountId,
      packageId: intent.packageId,
      name: this.chargedOf(intent).name,
      reason,
      auto: isAutoTopupIntent(intent),
    });
    return autoTopupFailed(
      tx,
      account,
      intent,
      reason,
      this.notices,
      this.catalog,
      this.clock.now(),
    );
  }

  /**
   * Charges an auto top-up's purchase, queued by a usage and committed with
   * it: off-session (the customer is not there), under the intent's key and
   * attempt — so a repeat, another process or the start-up recovery finds
   * the same charge — then credits it, or pauses auto top-up on a decline.
   * A processor that cannot be reached throws; the intent stays pending.
   */
  async chargeAutoTopup(intent: PurchaseIntentRow): Promise<void> {
    const charged = this.chargedOf(intent);
    const request = { ...(await chargeRequestOf(intent, charged)), offSession: true };
    const state = await this.gateway.charge(request);
    await this.settle(intent, charged, state).catch((error: unknown) => {
      // A decline paused auto top-up: that is its outcome, not a failure.
      if (error instanceof DomainError && state.status !== 'approved') return;
      throw error;
    });
  }

  /**
   * Completes purchases a crash (or a lost answer) left pending: asks the
   * gateway where each one's charge stands — by its reference once a 202 was
   * answered, else by its key and attempt — and credits the paid ones,
   * forgets the declined ones, and records those still waiting. Run at
   * start-up, over the store's pending intents (`pending`).
   */
  async completePendingPurchases(
    pending: readonly PurchaseIntentRow[],
    onError: (intent: PurchaseIntentRow, error: unknown) => void,
  ): Promise<number> {
    let completed = 0;
    for (const intent of pending) {
      // A failed payment waits for the customer; an operator's refund is the
      // operators' to finish (`Operators.completePendingRefunds`).
      if (intent.paymentState === 'failed' || isOperatorIntent(intent)) continue;
      // One intent that cannot be completed (its package left the catalog,
      // say) must not keep the others — or the server — from starting.
      try {
        const charged = this.chargedOf(intent);
        const state = await this.chargeOf(intent, charged);
        if (!state) {
          // An auto top-up queued with a usage, its charge never made (the
          // process stopped in between): made now, once, under its key.
          if (isAutoTopupIntent(intent)) {
            await this.chargeAutoTopup(intent);
            completed += 1;
          }
          continue;
        }
        const outcome = await this.settle(intent, charged, state).catch((error: unknown) => {
          if (error instanceof DomainError && state.status === 'declined') return null;
          throw error;
        });
        if (outcome?.status === 201) completed += 1;
      } catch (error) {
        onError(intent, error);
      }
    }
    return completed;
  }

  /** Where the charge of a pending intent stands, if one was made. */
  private async chargeOf(
    intent: PurchaseIntentRow,
    charged: ChargedPackage,
  ): Promise<ChargeResult | null> {
    if (intent.paymentRef) return this.gateway.chargeState(intent.paymentRef);
    // The customer the attempt charged; an intent of an earlier version kept
    // none: the account's.
    const customerId =
      intent.customerId ??
      (await this.store.transact((tx) => requireAccount(tx, intent.accountId), READ))
        .stripeCustomerId;
    const request = await chargeRequestOf({ ...intent, customerId }, charged);
    const found = await this.gateway.findCharge({ ...request, sinceMs: intent.createdAtMs });
    if (found) return found;
    const legacy = await this.findLegacyCharge(intent, charged);
    return legacy && { status: 'approved', reference: legacy.reference };
  }

  /**
   * The processor says a payment went through (Stripe's
   * `payment_intent.succeeded`): credits the purchase it paid, unless it was
   * credited already — whichever of this and the customer's retry comes
   * first credits, the other replays. Each event applies once (`eventId`).
   */
  async paymentSucceeded(event: PaymentEvent): Promise<'applied' | 'duplicate' | 'unknown'> {
    let version: number | undefined;
    const outcome = await this.store.transact(async (tx) => {
      const read = await readAfterLock(tx, event.accountId, event.purchaseKey, this.clock);
      const now = read.nowMs;
      if (!(await this.recordEvent(tx, event))) return 'duplicate';
      const { account, intent } = read;
      if (!account || !intent) {
        this.unpaired(event, 'no purchase waits for it');
        return 'unknown';
      }
      if (intent.status === 'completed') {
        const purchase = read.purchase;
        if (purchase && purchase.paymentRef !== event.paymentRef) {
          this.unpaired(event, `the purchase was paid by ${purchase.paymentRef} already`);
        }
        return 'applied';
      }
      // The payment of this attempt: the one the intent knows, or — its answer
      // lost — the attempt's own. A success of an older attempt is not.
      const ours =
        intent.paymentRef === event.paymentRef ||
        (intent.paymentRef === null && intent.attempt === event.attempt);
      if (!ours) {
        this.unpaired(event, 'it is not the payment of the purchase now');
        return 'unknown';
      }
      // This payment failed or was refunded before: it credits nothing.
      if (intent.paymentState === 'failed') return 'applied';
      const charged = this.chargedOf(intent);
      const credited = await this.creditIn(tx, { ...read, account }, intent, charged, {
        paymentRef: event.paymentRef,
        now,
      });
      version = credited.balance.version;
      return 'applied';
    });
    if (version !== undefined) this.changed(event.accountId, version);
    return outcome;
  }

  /** A payment the processor took that no purchase is credited for: for an operator. */
  private unpaired(event: PaymentEvent, why: string): void {
    this.logError(
      new Error(
        `Payment ${event.paymentRef} of account ${event.accountId} (purchase key ${event.purchaseKey}) succeeded, but ${why}: refund it or credit it by hand.`,
      ),
    );
  }

  /**
   * The processor says a payment failed after all (Stripe's
   * `payment_intent.payment_failed`): a purchase answered with a 202 under
   * that payment becomes `failed`, and its key free. Once per event.
   */
  async paymentFailed(event: PaymentEvent): Promise<'applied' | 'duplicate'> {
    let version: number | undefined;
    const outcome = await this.store.transact(async (tx) => {
      const account = await tx.getAccount(event.accountId, true);
      if (!(await this.recordEvent(tx, event))) return 'duplicate';
      const intent = account && (await tx.findIntent(event.accountId, event.purchaseKey));
      if (
        account &&
        intent?.status === 'pending' &&
        intent.paymentRef === event.paymentRef &&
        intent.paymentState !== 'failed'
      ) {
        await tx.updateIntentPayment({ ...intent, paymentState: 'failed' });
        version = await this.failed(tx, account, intent, 'The payment failed at the processor.');
      }
      return 'applied';
    });
    if (version !== undefined) this.changed(event.accountId, version);
    return outcome;
  }

  /**
   * The processor refunded a payment (Stripe's `charge.refunded`): the
   * purchase it paid is refunded — its remaining minutes voided, those used
   * stay used. Once per event, and once per purchase.
   */
  async paymentRefunded(event: {
    eventId: string;
    type: string;
    paymentRef: string;
  }): Promise<'applied' | 'duplicate' | 'unknown'> {
    // Whose payment: read first, to know which account to lock; everything
    // else is read again under that lock (a credit may commit in between).
    const owner = await this.store.transact(
      async (tx) =>
        (await tx.findPurchaseByPaymentRef(event.paymentRef))?.accountId ??
        (await tx.findIntentByPaymentRef(event.paymentRef))?.accountId,
      READ,
    );
    let changed: [accountId: string, version: number] | undefined;
    const outcome = await this.store.transact(async (tx) => {
      if (owner) await requireAccount(tx, owner, true);
      if (!(await this.recordEvent(tx, event))) return 'duplicate';
      const purchase = await tx.findPurchaseByPaymentRef(event.paymentRef);
      if (!purchase) {
        // Refunded before it was credited (Stripe does not order its events):
        // it is not paid, so it never will be credited — it ends `failed`.
        const intent = await tx.findIntentByPaymentRef(event.paymentRef);
        if (!intent) return 'unknown';
        await tx.updateIntentPayment({ ...intent, paymentState: 'failed' });
        if (owner === intent.accountId && intent.paymentState !== 'failed') {
          const account = await requireAccount(tx, owner);
          const version = await this.failed(tx, account, intent, 'The payment was refunded.');
          if (version !== undefined) changed = [owner, version];
        }
        return 'applied';
      }
      if (purchase.refundedSeconds !== null) return 'applied';
      // The processor refunded the whole payment (a partial refund is not
      // reported here): its price came back.
      // Read again under the account's lock: a call may have drawn on it
      // since (the lock was not held when it was found, credited meanwhile).
      const account = await requireAccount(tx, purchase.accountId, true);
      const locked = (await tx.getPurchase(account.id, purchase.id)) ?? purchase;
      if (locked.refundedSeconds !== null) return 'applied';
      const voided = await voidPurchase(tx, account, locked, locked.priceMinor, this.clock.now());
      await this.notices.emit(tx, 'purchase.refunded', {
        accountId: account.id,
        purchase: purchaseDto(voided.purchase),
      });
      const balance = await balanceOf(
        tx,
        { ...account, version: voided.version },
        this.catalog,
        this.clock.now(),
        this.lowThreshold,
      );
      await this.notices.warning(tx, account, balance);
      changed = [purchase.accountId, voided.version];
      return 'applied';
    });
    if (changed) this.changed(...changed);
    return outcome;
  }

  private recordEvent(tx: LedgerTx, event: { eventId: string; type: string }): Promise<boolean> {
    return tx.recordPaymentEvent(event.eventId, event.type, this.clock.now());
  }

  /**
   * What an intent charges for: as recorded with it, or — an intent of the
   * earlier version, which recorded nothing — the catalog's package now.
   */
  chargedOf(intent: PurchaseIntentRow): ChargedPackage {
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
      const found = await this.gateway.findCharge({
        idempotencyKey: legacyChargeKeyOf(intent.accountId, intent.idempotencyKey),
        attempt: '',
        accountId: intent.accountId,
        customerId: null,
        amountMinor: charged.priceMinor,
        currency: charged.currency,
        sinceMs: intent.createdAtMs,
      });
      return found?.status === 'approved' ? { reference: found.reference } : null;
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
    intent: PurchaseIntentRow,
    charged: ChargedPackage,
    paymentRef: string,
  ): Promise<PurchaseResultDto> {
    const result = await this.store.transact(async (tx) => {
      // One round trip on PostgreSQL: the lock, then all the credit reads.
      const read = await lockIntent(tx, intent.accountId, intent.idempotencyKey, this.clock);
      const now = read.intent;
      if (now && now.packageId !== intent.packageId) {
        // The intent was forgotten (a concurrent request was declined) and an
        // operator's grant took the key meanwhile: this paid charge has no
        // purchase to credit under it. Reported for an operator to refund.
        this.logError(
          new Error(
            `Payment ${paymentRef} of account ${intent.accountId} cannot be credited: its key "${intent.idempotencyKey}" was taken by another operation. Refund it.`,
          ),
        );
        throw keyReused();
      }
      if (now?.status === 'pending') {
        // What changed while the gateway was asked: a refund (or a failure)
        // of this very payment, or a newer attempt. Neither may be credited.
        if (now.paymentState === 'failed' && now.paymentRef === paymentRef) {
          throw new DomainError(
            'payment_declined',
            'The payment did not go through: it was refunded.',
          );
        }
        if (now.attempt !== intent.attempt) throw attemptMoved();
      }
      return this.creditIn(tx, read, now ?? intent, charged, {
        paymentRef,
        now: read.nowMs,
        intentGone: now === null,
      });
    });
    this.changed(intent.accountId, result.balance.version);
    return result;
  }

  /**
   * `credit` inside a transaction that holds the account's lock, with what
   * `readForPurchase` read after it at `now`. A new purchase's writes go out
   * at once (`writeCredit`: one round trip on PostgreSQL).
   */
  private async creditIn(
    tx: LedgerTx,
    read: PurchaseReads & { account: AccountRow },
    intent: PurchaseIntentRow,
    charged: ChargedPackage,
    at: { paymentRef: string; now: number; intentGone?: boolean },
  ): Promise<PurchaseResultDto> {
    const { accountId, idempotencyKey } = intent;
    const replay = storedAnswer<PurchaseResultDto>(intent);
    if (replay) return replay;
    const { now, intentGone = false } = at;
    const { account } = read;
    const bought: Bought = { accountId, idempotencyKey, packageId: intent.packageId, charged };
    // The balance's counters (plan use, overage): a purchase adds to neither.
    const cycle = cycleContaining(account.cycleAnchorMs, now);
    const known = { cycleStartMs: cycle.start, counters: read.counters };
    const balanceAfter = (a: AccountRow) =>
      balanceOf(tx, a, this.catalog, now, this.lowThreshold, known);
    // The key may have created its purchase already, its intent row gone
    // (a concurrent attempt was declined and forgot it): answer with it.
    if (read.purchase) {
      const result: PurchaseResultDto = {
        purchase: purchaseDto(read.purchase),
        balance: await balanceAfter(account),
      };
      await recordAnswer(tx, intentGone ? null : intent, bought, JSON.stringify(result), now);
      return result;
    }
    // A new active purchase: its minutes join the extra balance, its price
    // the cycle's top-ups; the account is locked, so the version is the next.
    const purchase = activePurchase({
      id: intent.purchaseId ?? this.newId(),
      accountId,
      packageId: intent.packageId,
      kind: 'package',
      reason: null,
      name: charged.name,
      minutes: charged.minutes,
      priceMinor: charged.priceMinor,
      currency: charged.currency,
      purchasedAtMs: now,
      paymentRef: at.paymentRef,
      idempotencyKey,
    });
    const after: AccountRow = {
      ...account,
      extraRemainingSeconds: account.extraRemainingSeconds + purchase.remainingSeconds,
      activePackages: account.activePackages + 1,
      version: account.version + 1,
    };
    const result: PurchaseResultDto = {
      purchase: purchaseDto(purchase),
      balance: await balanceAfter(after),
    };
    const response = JSON.stringify(result);
    const succeeded = this.notices.event('purchase.succeeded', {
      accountId,
      purchase: result.purchase,
      auto: isAutoTopupIntent(intent),
    });
    const warning = this.notices.warningChange(account, result.balance);
    await tx.writeCredit({
      purchase,
      version: after.version,
      cycleStartMs: cycle.start,
      cycleDelta: { topupCount: 1, topupSpendMinor: charged.priceMinor },
      response,
      insertIntent: intentGone ? answeredIntent(bought, response, now) : null,
      warning: warning.warning,
      autoTopup: autoTopupCredited(read.autoTopup, intent, now),
      webhooks: [...(succeeded ? [succeeded] : []), ...warning.events],
    });
    return result;
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
  else await tx.insertIntent(answeredIntent(bought, response, now));
}

/** The intent that keeps an answer when the pending one is gone: completed at once. */
function answeredIntent(bought: Bought, response: string, now: number): PurchaseIntentRow {
  return {
    ...bought,
    status: 'completed',
    response,
    createdAtMs: now,
    attempt: '',
    purchaseId: null,
    paymentRef: null,
    paymentState: null,
    customerId: null,
  };
}

/**
 * What a purchase reads after its account's lock (`readForPurchase`: one
 * round trip on PostgreSQL), and `nowMs`, the time after the lock was granted
 * — a change's time, as before the reads went out with the lock: a billing
 * cycle that began while the lock was awaited is the one whose counters are
 * answered (read again in that rare case).
 */
async function readAfterLock(
  tx: LedgerTx,
  accountId: string,
  idempotencyKey: string,
  clock: Clock,
): Promise<PurchaseReads & { nowMs: number }> {
  const asked = clock.now();
  const read = await tx.readForPurchase(accountId, idempotencyKey, asked);
  const nowMs = Math.max(asked, clock.now());
  const { account } = read;
  if (!account) return { ...read, nowMs };
  const start = cycleContaining(account.cycleAnchorMs, nowMs).start;
  if (start === cycleContaining(account.cycleAnchorMs, asked).start) return { ...read, nowMs };
  return { ...read, counters: await tx.getCycle(accountId, start), nowMs };
}

/** `readAfterLock`, 404 without the account. */
async function lockIntent(
  tx: LedgerTx,
  accountId: string,
  idempotencyKey: string,
  clock: Clock,
): Promise<PurchaseReads & { account: AccountRow; nowMs: number }> {
  const read = await readAfterLock(tx, accountId, idempotencyKey, clock);
  const { account } = read;
  if (!account) throw accountNotFound(accountId);
  return { ...read, account };
}

/** What a purchase request comes to: 201 credited, or 202 waiting for the customer or the processor. */
export type PurchaseOutcome =
  { status: 201; body: PurchaseResultDto } | { status: 202; body: PurchaseActionDto };

const credited = (body: PurchaseResultDto): PurchaseOutcome => ({ status: 201, body });

/** What the gateway is asked to charge for an intent's attempt. */
async function chargeRequestOf(
  intent: PurchaseIntentRow,
  charged: ChargedPackage,
): Promise<ChargeRequest> {
  return {
    idempotencyKey: await chargeKeyOf(intent.accountId, intent.idempotencyKey),
    attempt: intent.attempt,
    accountId: intent.accountId,
    purchaseKey: intent.idempotencyKey,
    packageId: intent.packageId,
    customerId: intent.customerId,
    amountMinor: charged.priceMinor,
    currency: charged.currency,
    description: `${charged.name}: ${charged.minutes} voice minutes`,
  };
}

/** A processor's event about one purchase's payment (Stripe: a `payment_intent.*` webhook). */
export interface PaymentEvent {
  eventId: string;
  type: string;
  accountId: string;
  purchaseKey: string;
  /** The attempt the payment was made for (`ChargeRequest.attempt`). */
  attempt: string;
  /** The payment it is about (Stripe: the PaymentIntent id). */
  paymentRef: string;
}

/** A pending intent as the purchase it will be: no minutes yet. */
export function awaitingPurchaseDto(
  intent: PurchaseIntentRow,
  charged: ChargedPackage,
): PurchaseDto {
  return {
    id: intent.purchaseId ?? `${intent.accountId}:${intent.idempotencyKey}`,
    packageId: intent.packageId,
    kind: 'package',
    name: charged.name,
    minutes: charged.minutes,
    priceMinor: charged.priceMinor,
    currency: charged.currency,
    purchasedAt: iso(intent.createdAtMs),
    totalSeconds: minutesToSeconds(charged.minutes),
    remainingSeconds: 0,
    status:
      intent.paymentState === 'failed'
        ? 'failed'
        : intent.paymentState === 'requires_action'
          ? 'requires_action'
          : 'pending',
  };
}

/** The purchase moved on to a newer attempt while this request was answered. */
function attemptMoved(): DomainError {
  return new DomainError(
    'conflict',
    'The purchase changed while its payment was asked about; send the request again.',
  );
}
