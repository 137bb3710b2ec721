/**
 * Locale-aware formatters for one currency. Money arrives in minor units and is
 * divided by 10^fractionDigits of that currency (JPY 0, USD 2, KWD 3).
 *
 * @example
 * const f = createFormat('de-DE', 'EUR');
 * f.money(2500); // "25,00 €"
 */
export function createFormat(locale: string | undefined, currency: string) {
  const lc = locale || undefined;
  const money = new Intl.NumberFormat(lc, { style: 'currency', currency });
  const digits = money.resolvedOptions().maximumFractionDigits ?? 2;
  const unit = 10 ** digits;
  const fine = new Intl.NumberFormat(lc, {
    style: 'currency',
    currency,
    maximumFractionDigits: digits + 1,
  });
  const number = new Intl.NumberFormat(lc);
  const percent = new Intl.NumberFormat(lc, { style: 'percent' });
  const date = new Intl.DateTimeFormat(lc, { dateStyle: 'medium' });
  return {
    money: (minor: number) => money.format(minor / unit),
    /** A price per minute, with one more digit than the currency has. */
    perMinute: (minor: number, minutes: number) => fine.format(minor / minutes / unit),
    number: (n: number) => number.format(n),
    percent: (ratio: number) => percent.format(ratio),
    date: (iso: string) => date.format(new Date(iso)),
    /** Whole minutes left of a number of seconds (rounded down: never promise what is not there). */
    minutes: (seconds: number) => number.format(Math.floor(seconds / 60)),
  };
}

export type Format = ReturnType<typeof createFormat>;
