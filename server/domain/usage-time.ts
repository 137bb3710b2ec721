import { DomainError } from './errors.js';

/** What the rule needs of an account (epoch ms). */
export interface AccountDates {
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
  return Math.min(account.createdAtMs, account.cycleAnchorMs);
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
