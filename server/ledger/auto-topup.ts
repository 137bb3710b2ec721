import type { AutoTopupDto, AutoTopupRequest, BalanceDto } from '../../contract/index.js';
import { cycleContaining, type Catalog } from '../domain/index.js';
import { randomUuid } from '../../contract/random-uuid.js';
import type { AccountRow, AutoTopupRow, LedgerTx, PurchaseIntentRow } from '../store/types.js';
import type { Notices } from './notices.js';
import { chargedFrom } from './reads.js';

/**
 * Auto top-up (DESIGN §10): the rules that decide when one purchase is
 * queued, and what its outcome does to the settings. The charge itself is
 * `Buying`'s (off-session), made after the usage's commit.
 */

/** What an account that never set auto top-up answers. */
export const AUTO_TOPUP_DEFAULTS = { thresholdMinutes: 30, monthlyLimit: 3 } as const;

/**
 * The idempotency key of an auto purchase: from the billing cycle and the
 * attempt's number in it, so one cycle's purchases can never share one. It
 * holds spaces, which no client's `Idempotency-Key` may (visible ASCII
 * only): a client can never take the key before the trigger does.
 */
export function autoTopupKey(cycleStartMs: number, sequence: number): string {
  return `auto top-up ${new Date(cycleStartMs).toISOString()} #${sequence}`;
}

/** Whether an intent is an auto top-up's purchase. */
export function isAutoTopupIntent(intent: Pick<PurchaseIntentRow, 'idempotencyKey'>): boolean {
  return intent.idempotencyKey.startsWith('auto top-up ');
}

/** The settings as the API shows them, in the billing cycle of `nowMs`. */
export function autoTopupDto(
  row: AutoTopupRow | null,
  account: AccountRow,
  catalog: Catalog,
  nowMs: number,
): AutoTopupDto {
  if (!row) {
    const pkg = catalog.packages.find((p) => p.popular) ?? catalog.packages[0];
    return {
      enabled: false,
      thresholdMinutes: AUTO_TOPUP_DEFAULTS.thresholdMinutes,
      packageId: pkg?.id ?? '',
      monthlyLimit: AUTO_TOPUP_DEFAULTS.monthlyLimit,
      status: 'active',
      cycleCount: 0,
    };
  }
  const cycle = cycleContaining(account.cycleAnchorMs, nowMs).start;
  return {
    enabled: row.enabled,
    thresholdMinutes: row.thresholdMinutes,
    packageId: row.packageId,
    monthlyLimit: row.monthlyLimit,
    status: row.status,
    ...(row.status === 'paused' && row.pausedReason ? { pausedReason: row.pausedReason } : {}),
    cycleCount: row.cycleStartMs === cycle ? row.cycleCount : 0,
  };
}

/**
 * New settings: a PUT always resumes. What the cycle counted (and the
 * purchase under way) stays, so changing the settings never lifts the limit.
 */
export function changedSettings(
  row: AutoTopupRow | null,
  accountId: string,
  request: AutoTopupRequest,
  nowMs: number,
): AutoTopupRow {
  return {
    accountId,
    cycleStartMs: row?.cycleStartMs ?? 0,
    cycleCount: row?.cycleCount ?? 0,
    sequence: row?.sequence ?? 0,
    pendingKey: row?.pendingKey ?? null,
    ...request,
    status: 'active',
    pausedReason: null,
    updatedAtMs: nowMs,
  };
}

/**
 * Inside a usage's transaction (the account locked), after its balance is
 * known: when plan remaining + extra is at or below the threshold, no auto
 * purchase is under way and the cycle's limit is not reached, records the
 * purchase's intent — under a key from the cycle and its number — and counts
 * it, in this same transaction. Returns the intent to charge once the usage
 * committed, or null. The account row says whether to look at all
 * (`autoTopupBelowSeconds`), so most usage reads nothing more.
 */
export async function queueAutoTopup(
  tx: LedgerTx,
  account: AccountRow,
  balance: BalanceDto,
  catalog: Catalog,
  nowMs: number,
  notices: Notices,
): Promise<PurchaseIntentRow | null> {
  const below = account.autoTopupBelowSeconds;
  const left = balance.plan.remainingSeconds + balance.extra.remainingSeconds;
  if (below === null || left > below) return null;
  const row = await tx.getAutoTopup(account.id);
  if (!row || !row.enabled || row.status !== 'active' || row.pendingKey !== null) return null;
  // A clock behind the one that counted last (another process, a step
  // back) counts in the newer cycle: never a reset, never a key used before.
  const cycle = Math.max(cycleContaining(account.cycleAnchorMs, nowMs).start, row.cycleStartMs);
  const sameCycle = row.cycleStartMs === cycle;
  const count = sameCycle ? row.cycleCount : 0;
  if (count >= row.monthlyLimit) return null;
  const pkg = catalog.packages.find((p) => p.id === row.packageId);
  if (!pkg) {
    // The usage's own version change tells open widgets.
    const reason = `The package "${row.packageId}" is no longer offered: choose another one.`;
    await pause(tx, account, row, reason, { notices, catalog, nowMs });
    return null;
  }
  const sequence = (sameCycle ? row.sequence : 0) + 1;
  const intent: PurchaseIntentRow = {
    accountId: account.id,
    idempotencyKey: autoTopupKey(cycle, sequence),
    packageId: pkg.id,
    status: 'pending',
    response: null,
    createdAtMs: nowMs,
    charged: chargedFrom(pkg, catalog.currency),
    attempt: randomUuid(),
    purchaseId: null,
    paymentRef: null,
    paymentState: null,
    customerId: account.stripeCustomerId,
  };
  await tx.insertIntent(intent);
  await tx.putAutoTopup({
    ...row,
    cycleStartMs: cycle,
    cycleCount: count + 1,
    sequence,
    pendingKey: intent.idempotencyKey,
    updatedAtMs: nowMs,
  });
  return intent;
}

/**
 * A purchase was credited (the account locked): an auto purchase is no
 * longer under way; a purchase by hand resumes a paused auto top-up. Returns
 * the settings to write, or null when they stay as they are.
 */
export function autoTopupCredited(
  row: AutoTopupRow | null,
  intent: PurchaseIntentRow,
  nowMs: number,
): AutoTopupRow | null {
  if (!row) return null;
  if (isAutoTopupIntent(intent)) {
    return row.pendingKey === intent.idempotencyKey
      ? { ...row, pendingKey: null, updatedAtMs: nowMs }
      : null;
  }
  return row.status === 'paused'
    ? { ...row, status: 'active', pausedReason: null, updatedAtMs: nowMs }
    : null;
}

/**
 * An auto purchase's payment did not go through (the account locked): it
 * no longer counts, and auto top-up pauses with the processor's reason
 * (`auto_topup.paused`); the version grows so open widgets hear of it.
 * Returns the new version, or undefined when nothing changed.
 */
export async function autoTopupFailed(
  tx: LedgerTx,
  account: AccountRow,
  intent: PurchaseIntentRow,
  reason: string,
  notices: Notices,
  catalog: Catalog,
  nowMs: number,
): Promise<number | undefined> {
  if (!isAutoTopupIntent(intent)) return undefined;
  const row = await tx.getAutoTopup(intent.accountId);
  if (!row || row.pendingKey !== intent.idempotencyKey) return undefined;
  const released = { ...row, cycleCount: Math.max(0, row.cycleCount - 1), pendingKey: null };
  await pause(tx, account, released, reason, { notices, catalog, nowMs });
  return tx.changeBalance(account.id, 0, 0);
}

/** Pauses auto top-up with `reason` and tells the host (`auto_topup.paused`), in `tx`. */
async function pause(
  tx: LedgerTx,
  account: AccountRow,
  row: AutoTopupRow,
  reason: string,
  at: { notices: Notices; catalog: Catalog; nowMs: number },
): Promise<void> {
  const paused: AutoTopupRow = {
    ...row,
    status: 'paused',
    pausedReason: reason,
    updatedAtMs: at.nowMs,
  };
  await tx.putAutoTopup(paused);
  await at.notices.emit(tx, 'auto_topup.paused', {
    accountId: account.id,
    reason,
    autoTopup: autoTopupDto(paused, account, at.catalog, at.nowMs),
  });
}
