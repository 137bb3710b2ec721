import type { BalanceDto, PurchaseDto, PurchaseStatus } from '../contract/index.js';
import { createFormat, type Format } from '../widget/format.js';

/**
 * What the demo's operator panel says about an account's purchases and
 * grants, and after a grant or a refund. Pure functions of what the ledger
 * answered: the page only places the text, so every figure is formatted here,
 * once, in the account's currency (English, dates in UTC).
 */

/** The widget's formatters, one per currency the ledger answered in. */
const formats = new Map<string, Format>();

/**
 * Money in minor units, in `currency`, as the dashboard's English shows it.
 *
 * @example
 * money(1500, 'USD'); // "$15.00"
 * money(1400, 'EUR'); // "€14.00"
 */
export function money(minor: number, currency: string): string {
  let format = formats.get(currency);
  if (!format) formats.set(currency, (format = createFormat('en-US', currency)));
  return format.money(minor);
}

/**
 * An amount of time in minutes, with its seconds when there are any.
 *
 * @example
 * minutes(3600); // "60 min"
 * minutes(90); // "1 min 30 s"
 */
export function minutes(seconds: number): string {
  const whole = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest ? `${whole} min ${rest} s` : `${whole} min`;
}

const day = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' });

const statusWords: Record<PurchaseStatus, string> = {
  pending: 'Payment processing',
  requires_action: 'Awaiting the bank',
  active: 'Active',
  used: 'Used up',
  failed: 'Payment failed',
  refunded: 'Refunded',
};

/** One purchase or grant as the operator panel lists it. */
export interface OperatorRow {
  id: string;
  /** The package's name, or `Grant: <reason>`. */
  name: string;
  /** When it was bought or granted (UTC). */
  date: string;
  /** What it cost (`Free` for a grant). */
  price: string;
  /** Minutes left of minutes bought, e.g. `60 of 100 min`. */
  left: string;
  /** `Active`, `Used up`, `Refunded $15.00`, … */
  status: string;
  /** A package whose unused minutes may still be refunded. */
  refundable: boolean;
  /** The refund picker's option: name, date and minutes left. */
  label: string;
}

/** Only an active package holds unused minutes to refund; a grant cost nothing. */
export const refundable = (p: PurchaseDto) => p.kind === 'package' && p.status === 'active';

/** A purchase or grant as the operator panel lists it. */
export function operatorRow(p: PurchaseDto): OperatorRow {
  const name = p.kind === 'grant' && p.reason ? `Grant: ${p.reason}` : p.name;
  const date = day.format(new Date(p.purchasedAt));
  const price = p.kind === 'grant' ? 'Free' : money(p.priceMinor, p.currency);
  const left = `${Math.floor(p.remainingSeconds / 60)} of ${p.minutes} min`;
  const status =
    p.status === 'refunded' && p.refundMinor !== undefined
      ? `Refunded ${money(p.refundMinor, p.currency)}`
      : statusWords[p.status];
  return {
    id: p.id,
    name,
    date,
    price,
    left,
    status,
    refundable: refundable(p),
    label: `${name} (${date}): ${left} left`,
  };
}

/** What the panel says after a grant. */
export function describeGrant({
  purchase,
  balance,
}: {
  purchase: PurchaseDto;
  balance: BalanceDto;
}) {
  return (
    `Granted ${purchase.minutes} free ${purchase.minutes === 1 ? 'minute' : 'minutes'}` +
    `${purchase.reason ? ` (${purchase.reason})` : ''}. ` +
    `Extra balance: ${Math.floor(balance.extra.remainingSeconds / 60)} min.`
  );
}

/** What the panel says after a refund: the money returned and the minutes voided. */
export function describeRefund({
  purchase,
  balance,
}: {
  purchase: PurchaseDto;
  balance: BalanceDto;
}) {
  const refunded = money(purchase.refundMinor ?? 0, purchase.currency);
  const voided = purchase.refundedSeconds ?? 0;
  return (
    `Refunded ${refunded} of ${money(purchase.priceMinor, purchase.currency)} for ${purchase.name}: ` +
    (voided > 0 ? `its ${minutes(voided)} left are void. ` : 'it had no minutes left. ') +
    `Extra balance: ${Math.floor(balance.extra.remainingSeconds / 60)} min.`
  );
}
