import type { PlanTierDto, RecommendationDto } from '../../contract/index.js';
import { allowanceSeconds } from './counters.js';

/** What one billing cycle cost and used, from the ledger's per-cycle counters. */
export interface CycleSummary {
  topupCount: number;
  topupSpendMinor: number;
  /** All seconds used in the cycle: plan, extra and overage. */
  usedSeconds: number;
}

/** Top-ups in at least this many of the cycles considered make a habit. */
export const HABIT_CYCLES = 2;
export const CYCLES_CONSIDERED = 3;

/**
 * Upgrade advice. Looks at the current cycle and the two before it: when
 * top-ups were bought in at least two of them, it compares the average
 * monthly cost (plan price + average top-up spend) with the next tier's
 * price, and says whether that tier's allowance would have covered the
 * average use. Recommends the upgrade when it would not cost more.
 *
 * `cycles` holds the summaries of the considered cycles (missing cycles
 * count as empty); averages are rounded to whole minor units and seconds.
 */
export function recommendUpgrade(
  currentPlan: PlanTierDto,
  next: PlanTierDto | null,
  cycles: readonly CycleSummary[],
  currency: string,
): RecommendationDto {
  const considered = CYCLES_CONSIDERED;
  const recent = cycles.slice(0, considered);
  const cyclesWithTopups = recent.filter((c) => c.topupCount > 0).length;
  const spend = recent.reduce((sum, c) => sum + c.topupSpendMinor, 0);
  const used = recent.reduce((sum, c) => sum + c.usedSeconds, 0);
  const averageTopupSpendMinor = Math.round(spend / considered);
  const averageUsageSeconds = Math.round(used / considered);
  const averageMonthlyCostMinor = currentPlan.priceMinor + averageTopupSpendMinor;
  const monthlySavingMinor = next ? averageMonthlyCostMinor - next.priceMinor : 0;
  const nextPlanCoversAverage = next ? allowanceSeconds(next) >= averageUsageSeconds : false;
  return {
    recommend: next !== null && cyclesWithTopups >= HABIT_CYCLES && monthlySavingMinor >= 0,
    currency,
    currentPlan,
    nextPlan: next,
    cyclesConsidered: considered,
    cyclesWithTopups,
    averageTopupSpendMinor,
    averageMonthlyCostMinor,
    monthlySavingMinor,
    averageUsageSeconds,
    nextPlanCoversAverage,
  };
}
