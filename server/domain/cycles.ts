/**
 * Billing cycles: monthly from an anchor instant. The cycle that starts in a
 * month whose length is shorter than the anchor's day starts on that month's
 * last day (an anchor on the 31st gives 28/29 February, 30 April, 31 May …),
 * always at the anchor's time of day, in UTC. Each cycle start is derived from
 * the anchor itself, never from the previous cycle, so clamping never drifts.
 */

export interface Cycle {
  /** Months since the anchor's cycle (negative before the anchor). */
  index: number;
  /** Epoch milliseconds, inclusive. */
  start: number;
  /** Epoch milliseconds, exclusive: the next cycle's start. */
  end: number;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The start of the cycle `index` months after the anchor's. */
export function cycleStart(anchorMs: number, index: number): number {
  const a = new Date(anchorMs);
  const monthIndex = a.getUTCMonth() + index;
  const year = a.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const day = Math.min(a.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(
    year,
    month,
    day,
    a.getUTCHours(),
    a.getUTCMinutes(),
    a.getUTCSeconds(),
    a.getUTCMilliseconds(),
  );
}

/**
 * The cycle that contains the instant `atMs`.
 *
 * @example
 * // anchor 31 January: the cycle holding 15 February runs 31 Jan – 28 Feb.
 * cycleContaining(Date.UTC(2026, 0, 31), Date.UTC(2026, 1, 15));
 */
export function cycleContaining(anchorMs: number, atMs: number): Cycle {
  const a = new Date(anchorMs);
  const t = new Date(atMs);
  let index = (t.getUTCFullYear() - a.getUTCFullYear()) * 12 + (t.getUTCMonth() - a.getUTCMonth());
  while (cycleStart(anchorMs, index) > atMs) index -= 1;
  while (cycleStart(anchorMs, index + 1) <= atMs) index += 1;
  return { index, start: cycleStart(anchorMs, index), end: cycleStart(anchorMs, index + 1) };
}

/** The cycle `index` months after the anchor's cycle. */
export function cycleAt(anchorMs: number, index: number): Cycle {
  return { index, start: cycleStart(anchorMs, index), end: cycleStart(anchorMs, index + 1) };
}
