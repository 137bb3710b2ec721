import type { PackageDto } from '../contract/index.js';

/** What the dialog says about a package's price beside the price itself. */
export interface PackageValue {
  /** No other package costs less per minute (never with a single package; ties share it). */
  bestValue: boolean;
  /**
   * What a minute costs less than in the smallest package, as a share of the
   * smallest package's price per minute (`1 / 3` is "Save 33%"); `null` below
   * one part in `MIN_SAVING_ONE_IN`.
   */
  saving: number | null;
}

/**
 * A saving is shown from one part in 200 (0.5%) of the price per minute: the
 * least a whole percentage rounds up from, so no badge ever says "Save 0%".
 * Compared in integers, so exactly 0.5% counts (floating point makes it 0.4999…%).
 */
export const MIN_SAVING_ONE_IN = 200;

/**
 * Whether `a` costs at most what `b` does per minute, exactly: in integers,
 * `a.priceMinor / a.minutes ≤ b.priceMinor / b.minutes` cross-multiplied.
 *
 * @example
 * cheaperPerMinute({ minutes: 100, priceMinor: 2500 }, { minutes: 50, priceMinor: 1500 }); // true
 */
export function cheaperPerMinute(
  a: Pick<PackageDto, 'minutes' | 'priceMinor'>,
  b: Pick<PackageDto, 'minutes' | 'priceMinor'>,
): boolean {
  return a.priceMinor * b.minutes <= b.priceMinor * a.minutes;
}

/**
 * The badges' facts for each package of a catalog, in its order. Savings are
 * per minute against the package with the fewest minutes (the first of them
 * on a tie): `(small.price·pkg.minutes − pkg.price·small.minutes) / (small.price·pkg.minutes)`.
 *
 * @example
 * // Small 50 min $15, Medium 100 min $25, Large 250 min $50:
 * packageValues(packages);
 * // [{ bestValue: false, saving: null },
 * //  { bestValue: false, saving: 1 / 6 },   // "Save 17%"
 * //  { bestValue: true, saving: 1 / 3 }]    // "Best value", "Save 33%"
 */
export function packageValues(packages: readonly PackageDto[]): PackageValue[] {
  const smallest = packages.reduce<PackageDto | undefined>(
    (fewest, pkg) => (fewest && fewest.minutes <= pkg.minutes ? fewest : pkg),
    undefined,
  );
  return packages.map((pkg) => {
    // Both sides of the saving's ratio, scaled by both packages' minutes.
    const whole = smallest ? smallest.priceMinor * pkg.minutes : 1;
    const saved = smallest ? whole - pkg.priceMinor * smallest.minutes : 0;
    return {
      bestValue: packages.length > 1 && packages.every((other) => cheaperPerMinute(pkg, other)),
      saving: saved * MIN_SAVING_ONE_IN >= whole ? saved / whole : null,
    };
  });
}
