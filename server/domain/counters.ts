/**
 * The maintained per-cycle counters of an account, and the figures read from
 * them. The ledger adds to them, the stores keep them, the balance and the
 * upgrade advice read them: each rule about them is written once, here.
 */

/** Maintained per-cycle counters of one account. */
export interface CycleCounters {
  planUsedSeconds: number;
  extraUsedSeconds: number;
  overageSeconds: number;
  topupCount: number;
  topupSpendMinor: number;
}

/** The counters' names, in the order the SQL stores write their columns. */
export const COUNTER_NAMES = [
  'planUsedSeconds',
  'extraUsedSeconds',
  'overageSeconds',
  'topupCount',
  'topupSpendMinor',
] as const satisfies readonly (keyof CycleCounters)[];

/** The counters of a cycle nothing has happened in yet. */
export function emptyCounters(): CycleCounters {
  return {
    planUsedSeconds: 0,
    extraUsedSeconds: 0,
    overageSeconds: 0,
    topupCount: 0,
    topupSpendMinor: 0,
  };
}

/**
 * `counters` plus `delta`, as a new object (a counter left out of `delta` stays).
 *
 * @example
 * addCounters(emptyCounters(), { planUsedSeconds: 90 }).planUsedSeconds; // 90
 */
export function addCounters(counters: CycleCounters, delta: Partial<CycleCounters>): CycleCounters {
  const sum = { ...counters };
  for (const name of COUNTER_NAMES) sum[name] += delta[name] ?? 0;
  return sum;
}

/**
 * Seconds in a number of minutes: a plan's monthly minutes, a package's minutes.
 *
 * @example
 * minutesToSeconds(50); // 3000
 */
export function minutesToSeconds(minutes: number): number {
  return minutes * 60;
}

/** A plan's allowance per cycle, in seconds. */
export function allowanceSeconds(plan: { monthlyMinutes: number }): number {
  return minutesToSeconds(plan.monthlyMinutes);
}

/**
 * What is left of the plan's allowance in a cycle: never negative.
 *
 * @example
 * planRemainingSeconds(30_000, 27_000); // 3000
 * planRemainingSeconds(30_000, 31_000); // 0
 */
export function planRemainingSeconds(allowance: number, planUsedSeconds: number): number {
  return Math.max(0, allowance - planUsedSeconds);
}

/** All seconds used in a cycle: from the plan, from extra minutes and overage. */
export function usedSeconds(counters: CycleCounters | null): number {
  return counters
    ? counters.planUsedSeconds + counters.extraUsedSeconds + counters.overageSeconds
    : 0;
}
