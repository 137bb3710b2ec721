/**
 * Usage allocation: which balance pays for the seconds of one call.
 * Pure integer arithmetic; nothing is rounded, nothing is dropped.
 */

export interface ActivePackage {
  id: string;
  remainingSeconds: number;
}

export interface Allocation {
  fromPlanSeconds: number;
  fromExtra: { purchaseId: string; seconds: number }[];
  overageSeconds: number;
}

/**
 * Draws `seconds` from the plan's remaining allowance first, then from the
 * active packages in the order given (oldest first), and records whatever is
 * left as overage. `fromPlan + Σ fromExtra + overage = seconds` always holds,
 * and no package gives more than it has.
 *
 * @example
 * allocateUsage(90, 60, [{ id: 'p1', remainingSeconds: 20 }, { id: 'p2', remainingSeconds: 100 }]);
 * // → { fromPlanSeconds: 60, fromExtra: [{ purchaseId: 'p1', seconds: 20 },
 * //     { purchaseId: 'p2', seconds: 10 }], overageSeconds: 0 }
 */
export function allocateUsage(
  seconds: number,
  planRemainingSeconds: number,
  activePackages: readonly ActivePackage[],
): Allocation {
  assertNonNegativeInteger(seconds, 'seconds');
  assertNonNegativeInteger(planRemainingSeconds, 'planRemainingSeconds');
  const fromPlanSeconds = Math.min(seconds, planRemainingSeconds);
  let left = seconds - fromPlanSeconds;
  const fromExtra: Allocation['fromExtra'] = [];
  for (const pkg of activePackages) {
    if (left === 0) break;
    assertNonNegativeInteger(pkg.remainingSeconds, 'remainingSeconds');
    const take = Math.min(left, pkg.remainingSeconds);
    if (take > 0) {
      fromExtra.push({ purchaseId: pkg.id, seconds: take });
      left -= take;
    }
  }
  return { fromPlanSeconds, fromExtra, overageSeconds: left };
}

function assertNonNegativeInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
