import type { BalanceDto, PurchaseDto } from '../../contract/index.js';
import {
  allowanceSeconds,
  cycleContaining,
  DomainError,
  findPlan,
  minutesToSeconds,
  planRemainingSeconds,
  warningLevel,
  type Catalog,
  type PackageDef,
} from '../domain/index.js';
import type {
  AccountRow,
  ChargedPackage,
  CycleCounters,
  LedgerTx,
  PurchaseIntentRow,
  PurchaseRow,
} from '../store/types.js';

/** What the ledger's operations share: reading an account and its balance inside a transaction. */

export const iso = (ms: number) => new Date(ms).toISOString();

/** Marks a transaction that only reads. */
export const READ = { readOnly: true } as const;

/** 404 `account_not_found`. */
export function accountNotFound(id: string): DomainError {
  return new DomainError('account_not_found', `No account with id "${id}".`);
}

/** What buying `pkg` charges for: the package as the catalog offers it now, in its currency. */
export function chargedFrom(pkg: PackageDef, currency: string): ChargedPackage {
  return { name: pkg.name, minutes: pkg.minutes, priceMinor: pkg.priceMinor, currency };
}

/** The account, or a 404 `account_not_found`; locked for the transaction when `forUpdate`. */
export async function requireAccount(
  tx: LedgerTx,
  id: string,
  forUpdate = false,
): Promise<AccountRow> {
  const account = await tx.getAccount(id, forUpdate);
  if (!account) throw accountNotFound(id);
  return account;
}

/** The balance of the cycle containing `nowMs`, from the maintained counters (no history scan). */
export async function balanceOf(
  tx: LedgerTx,
  account: AccountRow,
  catalog: Catalog,
  nowMs: number,
  lowThreshold: number,
  /** Counters the caller already holds for one cycle: not read again if it is the current one. */
  known?: { cycleStartMs: number; counters: CycleCounters | null },
): Promise<BalanceDto> {
  const plan = findPlan(catalog, account.planId);
  const cycle = cycleContaining(account.cycleAnchorMs, nowMs);
  const counters =
    known?.cycleStartMs === cycle.start
      ? known.counters
      : await tx.getCycle(account.id, cycle.start);
  const allowance = allowanceSeconds(plan);
  const usedSeconds = counters?.planUsedSeconds ?? 0;
  return {
    plan: {
      id: plan.id,
      name: plan.name,
      allowanceSeconds: allowance,
      usedSeconds,
      remainingSeconds: planRemainingSeconds(allowance, usedSeconds),
      cycleStart: iso(cycle.start),
      cycleEnd: iso(cycle.end),
    },
    extra: {
      remainingSeconds: account.extraRemainingSeconds,
      activePackages: account.activePackages,
    },
    overageSeconds: counters?.overageSeconds ?? 0,
    version: account.version,
    warning: warningLevel({
      allowanceSeconds: allowance,
      planUsedSeconds: usedSeconds,
      extraRemainingSeconds: account.extraRemainingSeconds,
      lowThreshold,
    }),
  };
}
export function purchaseDto(row: PurchaseRow): PurchaseDto {
  return {
    id: row.id,
    packageId: row.packageId,
    kind: row.kind,
    ...(row.reason === null ? {} : { reason: row.reason }),
    name: row.name,
    minutes: row.minutes,
    priceMinor: row.priceMinor,
    currency: row.currency,
    purchasedAt: iso(row.purchasedAtMs),
    totalSeconds: row.totalSeconds,
    remainingSeconds: row.remainingSeconds,
    ...(row.refundedSeconds === null
      ? { status: row.status }
      : {
          status: 'refunded',
          refundedSeconds: row.refundedSeconds,
          ...(row.refundMinor === null ? {} : { refundMinor: row.refundMinor }),
          ...(row.refundedAtMs === null ? {} : { refundedAt: iso(row.refundedAtMs) }),
        }),
  };
}

/** Adds `deltaMinor` to the top-up spend of the cycle `purchase` was bought in. */
async function addToSpend(
  tx: LedgerTx,
  account: AccountRow,
  purchase: PurchaseRow,
  deltaMinor: number,
): Promise<void> {
  if (deltaMinor === 0) return;
  const cycle = cycleContaining(account.cycleAnchorMs, purchase.purchasedAtMs);
  await tx.addToCycle(account.id, cycle.start, { topupSpendMinor: deltaMinor });
}

/**
 * Undoes `voidPurchase` (the processor refused the refund): the seconds it
 * voided are the purchase's again — no call could draw them meanwhile — and
 * its cycle's spend gets the money back. Returns the new version.
 */
export async function restorePurchase(
  tx: LedgerTx,
  account: AccountRow,
  purchase: PurchaseRow,
): Promise<number> {
  const seconds = purchase.refundedSeconds ?? 0;
  await tx.restoreRefunded(purchase.id);
  const version = await tx.changeBalance(account.id, seconds, seconds > 0 ? 1 : 0);
  await addToSpend(tx, account, purchase, purchase.refundMinor ?? 0);
  return version;
}

/**
 * Refunds a purchase inside a transaction that holds its account's lock: its
 * remaining seconds are voided (the extra balance and the active count drop
 * with them; used seconds stay used), `refundMinor` is recorded and taken off
 * the top-up spend of the cycle it was bought in (the upgrade advice counts
 * what was kept), and the version grows. Returns the row as refunded and the
 * new version.
 */
export async function voidPurchase(
  tx: LedgerTx,
  account: AccountRow,
  purchase: PurchaseRow,
  refundMinor: number,
  nowMs: number,
): Promise<{ purchase: PurchaseRow; version: number }> {
  const seconds = purchase.remainingSeconds;
  await tx.markRefunded(purchase.id, { seconds, minor: refundMinor, atMs: nowMs });
  const version = await tx.changeBalance(
    account.id,
    -seconds,
    purchase.status === 'active' ? -1 : 0,
  );
  await addToSpend(tx, account, purchase, -refundMinor);
  return {
    purchase: {
      ...purchase,
      remainingSeconds: 0,
      status: 'used',
      refundedSeconds: seconds,
      refundMinor,
      refundedAtMs: nowMs,
    },
    version,
  };
}

/**
 * The answer kept under an idempotency key (a purchase's, a grant's, a
 * refund's), once its operation completed; null while it is pending.
 */
export function storedAnswer<T>(intent: PurchaseIntentRow): T | null {
  return intent.status === 'completed' && intent.response
    ? (JSON.parse(intent.response) as T)
    : null;
}

/** 422: the key already named another operation (`what`: what it was sent for now). */
export function keyReused(what = 'purchase'): DomainError {
  return new DomainError(
    'idempotency_key_reused',
    `This Idempotency-Key was already used for a different ${what}.`,
  );
}

/** A new purchase or grant as stored: all its minutes left, nothing refunded. */
export function activePurchase(
  fields: Omit<
    PurchaseRow,
    | 'totalSeconds'
    | 'remainingSeconds'
    | 'status'
    | 'refundedSeconds'
    | 'refundMinor'
    | 'refundedAtMs'
  >,
): PurchaseRow {
  const seconds = minutesToSeconds(fields.minutes);
  return {
    ...fields,
    totalSeconds: seconds,
    remainingSeconds: seconds,
    status: 'active',
    refundedSeconds: null,
    refundMinor: null,
    refundedAtMs: null,
  };
}

/**
 * Adds a purchase or grant inside a transaction that holds its account's
 * lock: its minutes join the extra balance. Returns the account after it.
 */
export async function creditPurchase(
  tx: LedgerTx,
  account: AccountRow,
  row: PurchaseRow,
): Promise<AccountRow> {
  await tx.insertPurchase(row);
  const version = await tx.changeBalance(account.id, row.totalSeconds, 1);
  return {
    ...account,
    extraRemainingSeconds: account.extraRemainingSeconds + row.totalSeconds,
    activePackages: account.activePackages + 1,
    version,
  };
}
