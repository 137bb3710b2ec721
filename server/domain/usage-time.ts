import { DomainError } from './errors.js';

/** What the rule needs of an account (epoch ms). */
export interface AccountDates {
  /** 0 (or less): not known — a row written by an earlier version — so no lower bound. */
  createdAtMs: number;
  cycleAnchorMs: number;
}

/**
 * The earliest instant a usage of the account may be dated: when the account
 * was created — or its cycle anchor, when the host set that earlier (a
 * customer brought over from another billing system, whose cycles had begun).
 * Before that there is no cycle of this account to charge: a call dated
 * 2000-01-01 on an account made today must not draw on a 2000 allowance.
 *
 * @example
 * earliestUsageMs({ createdAtMs: Date.parse('2026-03-10'), cycleAnchorMs: Date.parse('2026-03-10') });
 * // → Date.parse('2026-03-10')
 */
export function earliestUsageMs(account: AccountDates): number {
  // An unknown creation time (0: a row an earlier version wrote) bounds nothing.
  if (account.createdAtMs <= 0) return Number.NEGATIVE_INFINITY;
  return Math.min(account.createdAtMs, account.cycleAnchorMs);
}

/**
 * The instant of a usage reported without `occurredAt`: now — or the
 * account's start, when that lies a little after this process's now (another
 * process, its clock slightly ahead, created the account). Such a usage is
 * never refused as predating its account.
 */
export function undatedUsageMs(nowMs: number, account: AccountDates): number {
  return Math.max(nowMs, earliestUsageMs(account));
}

/** Refuses (`occurred_before_account`) a usage dated before the account existed. */
export function assertUsageAfterAccountStart(occurredAtMs: number, account: AccountDates): void {
  const earliest = earliestUsageMs(account);
  if (occurredAtMs >= earliest) return;
  throw new DomainError(
    'occurred_before_account',
    `occurredAt ${new Date(occurredAtMs).toISOString()} lies before the account existed ` +
      `(${new Date(earliest).toISOString()}).`,
  );
}
