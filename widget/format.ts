/**
 * Locale-aware formatters for one currency. Money arrives in minor units and is
 * divided by 10^fractionDigits of that currency (JPY 0, USD 2, KWD 3).
 *
 * @example
 * const f = createFormat('de-DE', 'EUR');
 * f.money(2500); // "25,00 €"
 */
export function createFormat(locale: string | undefined, currency: string) {
  const localeTag = locale || undefined;
  const money = new Intl.NumberFormat(localeTag, { style: 'currency', currency });
  const digits = money.resolvedOptions().maximumFractionDigits ?? 2;
  const unit = 10 ** digits;
  const perMinuteMoney = new Intl.NumberFormat(localeTag, {
    style: 'currency',
    currency,
    maximumFractionDigits: digits + 1,
  });
  const number = new Intl.NumberFormat(localeTag);
  const percent = new Intl.NumberFormat(localeTag, { style: 'percent' });
  const date = new Intl.DateTimeFormat(localeTag, { dateStyle: 'medium' });
  const day = new Intl.DateTimeFormat(localeTag, { day: 'numeric', month: 'short' });
  const dateTime = new Intl.DateTimeFormat(localeTag, { dateStyle: 'medium', timeStyle: 'short' });
  const twoDigits = new Intl.NumberFormat(localeTag, { minimumIntegerDigits: 2 });
  /** Whole minutes left of a number of seconds (rounded down: never promise what is not there). */
  const minutes = (seconds: number) => number.format(Math.floor(seconds / 60));
  return {
    money: (minor: number) => money.format(minor / unit),
    /** A price per minute, with one more digit than the currency has. */
    perMinute: (minor: number, minutes: number) => perMinuteMoney.format(minor / minutes / unit),
    number: (n: number) => number.format(n),
    percent: (ratio: number) => percent.format(ratio),
    date: (iso: string) => date.format(new Date(iso)),
    /** Day and month alone ("3 Nov", "Nov 3"): when a package a call drew on was bought. */
    day: (iso: string) => day.format(new Date(iso)),
    /** Date and time of a call. */
    dateTime: (iso: string) => dateTime.format(new Date(iso)),
    /** A call's length as m:ss ("4:12"; an hour is "60:00"). */
    duration: (seconds: number) => `${minutes(seconds)}:${twoDigits.format(seconds % 60)}`,
    minutes,
  };
}

export type Format = ReturnType<typeof createFormat>;
