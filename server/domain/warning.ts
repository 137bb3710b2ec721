import type { WarningLevel } from '../../contract/index.js';
import { planRemainingSeconds } from './counters.js';

/** The share of the allowance at or below which minutes are `low`, unless configured. */
export const DEFAULT_LOW_THRESHOLD = 0.2;

export interface WarningInput {
  allowanceSeconds: number;
  planUsedSeconds: number;
  extraRemainingSeconds: number;
  /** Fraction of the allowance at or below which the balance is `low` (default `DEFAULT_LOW_THRESHOLD`). */
  lowThreshold: number;
}

/**
 * The usage warning shown in the banner:
 * - `none` while there is plenty left;
 * - `low` while the plan is not used up and plan remaining + extra minutes is
 *   at most `lowThreshold` of the allowance;
 * - `exhausted` once the plan is used up and extra minutes are being drawn;
 * - `empty` when both are gone (further use is overage).
 */
export function warningLevel(input: WarningInput): WarningLevel {
  const planRemaining = planRemainingSeconds(input.allowanceSeconds, input.planUsedSeconds);
  if (planRemaining === 0) return input.extraRemainingSeconds > 0 ? 'exhausted' : 'empty';
  // Compare in integers: remaining ≤ threshold × allowance, threshold as a
  // fraction of 10 000 so that 0.2 never becomes 0.19999….
  const basisPoints = Math.round(input.lowThreshold * 10_000);
  const left = planRemaining + input.extraRemainingSeconds;
  return left * 10_000 <= basisPoints * input.allowanceSeconds ? 'low' : 'none';
}
