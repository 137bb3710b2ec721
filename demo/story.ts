import type { AutoTopupDto, BalanceDto, UsageDto } from '../contract/index.js';

/**
 * The demo's sentences about an account and a call, made from the live
 * balance, so that what the dashboard says follows every simulated call and
 * every purchase. Pure functions: the routes and the tests call them alike.
 */

/** Whole minutes used, rounded up (as the widget's meter counts them). */
const minutesUsed = (seconds: number) => Math.ceil(seconds / 60);
/** Whole minutes left, rounded down (never promise what is not there). */
const minutesLeft = (seconds: number) => Math.floor(seconds / 60);
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * A call's length as a clock reads it: `m:ss` under an hour, `h:mm:ss` from an
 * hour on.
 *
 * @example
 * duration(90); // "1:30"
 * duration(14_400); // "4:00:00"
 */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Where this account stands now, in one sentence. */
export function describeBalance(b: BalanceDto): string {
  const allowance = minutesLeft(b.plan.allowanceSeconds);
  const used = Math.min(minutesUsed(b.plan.usedSeconds), allowance);
  const extra = minutesLeft(b.extra.remainingSeconds);
  const reserve =
    b.extra.activePackages > 0
      ? `${plural(extra, 'extra minute', 'extra minutes')} in ${plural(b.extra.activePackages, 'package', 'packages')}`
      : 'no extra minutes';
  switch (b.warning) {
    case 'empty':
      return (
        `Plan and packages used up: calls run into overage ` +
        `(${plural(minutesUsed(b.overageSeconds), 'minute', 'minutes')} this cycle).`
      );
    case 'exhausted':
      return `Plan used up: calls draw on ${reserve}.`;
    case 'low': {
      const left = Math.floor((b.plan.remainingSeconds / b.plan.allowanceSeconds) * 100);
      return `${left} % of the plan left (${used} of ${allowance} min used): the banner warns; ${reserve}.`;
    }
    default:
      return b.plan.usedSeconds === 0
        ? `A new cycle, nothing used yet; ${reserve}.`
        : `${used} of ${allowance} plan minutes used; ${reserve}.`;
  }
}

/** What the demo says after recording a call. */
export function describeCall(usage: UsageDto): string {
  const extra = usage.fromExtra.reduce((sum, part) => sum + part.seconds, 0);
  return (
    `Recorded a ${duration(usage.seconds)} call: ${duration(usage.fromPlanSeconds)} from the plan, ` +
    `${duration(extra)} from extra minutes` +
    (usage.overageSeconds ? `, ${duration(usage.overageSeconds)} overage.` : '.')
  );
}

/**
 * The account's auto top-up in one sentence while it is on (`''` while it is
 * off), so the description says what the next call may set off.
 *
 * @example
 * describeAutoTopup({ enabled: true, status: 'active', thresholdMinutes: 90, monthlyLimit: 3, cycleCount: 1, … }, 'Medium');
 * // "Auto top-up buys Medium when 90 minutes or fewer are left (1 of 3 this cycle)."
 */
export function describeAutoTopup(auto: AutoTopupDto, packageName: string): string {
  if (!auto.enabled) return '';
  if (auto.status === 'paused') {
    return `Auto top-up paused: ${auto.pausedReason ?? 'a purchase by hand resumes it.'}`;
  }
  const at =
    auto.thresholdMinutes === 1
      ? '1 minute or less is left'
      : `${auto.thresholdMinutes} minutes or fewer are left`;
  return (
    `Auto top-up buys ${packageName} when ${at} ` +
    `(${auto.cycleCount} of ${auto.monthlyLimit} this cycle).`
  );
}
