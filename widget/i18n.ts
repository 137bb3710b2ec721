import type { PurchaseStatus, WarningLevel } from '../contract/index.js';
import type { ClientErrorCode } from './api-client.js';

/**
 * Every visible string of the widget. Terms that need figures are functions of
 * already-formatted values (numbers, prices and dates follow `locale`).
 * Override any subset through the `strings` property of `<minute-topup>`.
 *
 * @example
 * el.strings = { buyMore: 'Top up', confirm: (minutes, price) => `Pay ${price} for ${minutes} min` };
 */
export interface MinuteTopupStrings {
  cardTitle: string;
  buyMore: string;
  viewPackages: string;
  planMinutes: string;
  /** The plan meter's text, e.g. "320 of 500 min used". */
  planUsed: (used: string, allowance: string) => string;
  resetsIn: (days: number) => string;
  extraBalance: string;
  /** A name before its value: "Extra balance:", "Auto top-up:" (a French host: `${label} :`). */
  labelled: (label: string) => string;
  minutes: (minutes: string) => string;
  activePackages: (count: number) => string;
  overage: (minutes: string) => string;
  /**
   * The upgrade advice. `cost` is what the current plan plus top-ups came to a
   * month on average (`spend`: the top-ups alone); `saving` is `cost` − `price`.
   */
  upgradeAdvice: (advice: {
    cycles: number;
    of: number;
    spend: string;
    cost: string;
    plan: string;
    price: string;
    saving: string;
  }) => string;
  upgradeLink: (plan: string) => string;
  /** The card's auto top-up row: its name, then its state. */
  autoTopup: string;
  autoTopupState: (state: 'on' | 'off' | 'paused') => string;
  /**
   * What auto top-up does while on, e.g. "Buys Medium (100 min) when 30 min are
   * left · up to 3 a month (1 used)"; `used`: auto purchases this cycle.
   */
  autoTopupRule: (
    name: string,
    minutes: string,
    threshold: string,
    limit: string,
    used: string,
  ) => string;
  /** In place of `autoTopupRule` when the package it buys is no longer in the catalog. */
  autoTopupPackageGone: (packageId: string) => string;
  /** Opens the auto top-up editor (described by the row's name and state). */
  change: string;
  /** The editor's on/off switch, and its fields (its package field is labelled `colPackage`). */
  autoTopupEnabled: string;
  autoTopupThreshold: string;
  autoTopupLimit: string;
  /** A choice of the editor's package field, e.g. "Medium · 100 min · $25.00". */
  autoTopupPackage: (name: string, minutes: string, price: string) => string;
  /**
   * The package field's empty choice while the package set is no longer
   * offered, and its message until another is chosen.
   */
  choosePackage: string;
  save: string;
  /**
   * Under a field of the editor that is not a whole number from `min` to
   * `max` (threshold 1–100,000, monthly limit 1–31); nothing is sent.
   */
  autoTopupInvalid: (min: string, max: string) => string;
  /** Announced politely once a change is saved (or auto top-up is turned back on). */
  autoTopupSaved: (on: boolean) => string;
  /**
   * The banner while auto top-up is paused, also announced politely when it
   * pauses; `reason`: why, as the API says it.
   */
  autoTopupPaused: (reason: string) => string;
  /** The same, when the API gives no reason. */
  autoTopupPausedNoReason: string;
  /** The banner's action that turns a paused auto top-up back on. */
  turnBackOn: string;
  /** After the paused message, for a view-only token. */
  autoTopupOwner: string;
  bannerLow: string;
  bannerExhausted: string;
  bannerEmpty: string;
  /**
   * Said politely (`aria-live`) when the live balance changes the warning
   * level (`none`: minutes suffice again). An empty string says nothing.
   */
  warningChanged: (level: WarningLevel) => string;
  dialogTitle: string;
  packagesLabel: string;
  perMinute: (price: string) => string;
  popular: string;
  bestValue: string;
  saving: (percent: string) => string;
  tip: string;
  confirm: (minutes: string, price: string) => string;
  pending: string;
  /** While the host's `authenticate` runs, and while the purchase is asked for again after it. */
  confirmingWithBank: string;
  /** A payment the customer's bank must confirm (202 `requires_action`); **Try again** (`retry`) completes it. */
  bankNeedsConfirmation: string;
  /** A payment the processor is still working on (202 `pending`); `checkAgain` asks again. */
  paymentProcessing: string;
  checkAgain: string;
  cancel: string;
  retry: string;
  close: string;
  purchased: (minutes: string, extra: string) => string;
  historyTitle: string;
  colPackage: string;
  colDate: string;
  colPrice: string;
  colMinutes: string;
  colRemaining: string;
  colStatus: string;
  /** A package's status in the history: `active`, `used`, and the statuses of payments: */
  active: string;
  used: string;
  /** `pending`: the processor is still working on the payment. */
  processing: string;
  /** `requires_action`: the customer's bank has to confirm the payment. */
  awaitingBank: string;
  /** `failed`: the payment did not go through; no minutes. */
  failed: string;
  /** `refunded`: the payment was refunded; what remained of it is void. */
  refunded: string;
  /** The package column of a grant (free minutes from the service; its reason shown under it). */
  granted: string;
  /** The price column of a grant. */
  noCharge: string;
  /**
   * Under a refunded package's status: the money refunded and the minutes its
   * refund voided (`date`: when, empty if unknown).
   */
  refundDetail: (amount: string, minutes: string, date: string) => string;
  totalRemaining: (minutes: string) => string;
  noPackages: string;
  /** The history's two views: the packages, and the calls with how each was drawn. */
  packagesTab: string;
  recentCalls: string;
  /**
   * A call's split: its length (m:ss) `=` its parts joined, e.g.
   * "4:12 = 2:00 plan + 2:12 Medium (bought 3 Nov)". The parts are
   * `callPlan`, then `callPackage` / `callGrant` for each one drawn on
   * (oldest first), then `callOverage`.
   */
  callSplit: (duration: string, parts: string[]) => string;
  callPlan: (duration: string) => string;
  /** `date`: day and month the package was bought. */
  callPackage: (duration: string, name: string, date: string) => string;
  /** `date`: day and month the minutes were granted. */
  callGrant: (duration: string, date: string) => string;
  callOverage: (duration: string) => string;
  noCalls: string;
  /** Loads the next page of calls. */
  showMore: string;
  loading: string;
  errorNetwork: string;
  errorServer: string;
  errorUnauthorized: string;
  /** `forbidden` (403): the token may not do this, e.g. a purchase with a view-only token. */
  errorForbidden: string;
  /** `fetchToken` gave no token (`no_token`). */
  errorNoToken: string;
  errorAccount: string;
  errorDeclined: string;
  /** `payment_method_required`: no card on file; nothing was charged. */
  errorPaymentMethod: string;
  /** `payment_unavailable`: the processor could not be reached; `unconfirmed` follows it. */
  errorUnavailable: string;
  errorOther: string;
  /** After a failure without a definite answer: the package is kept until a retry settles it. */
  unconfirmed: string;
}

export const en: MinuteTopupStrings = {
  cardTitle: 'Extra minutes',
  buyMore: 'Buy more minutes',
  viewPackages: 'View packages',
  planMinutes: 'Plan minutes',
  planUsed: (used, allowance) => `${used} of ${allowance} min used`,
  resetsIn: (days) => (days === 1 ? 'Resets in 1 day' : `Resets in ${days} days`),
  extraBalance: 'Extra balance',
  labelled: (label) => `${label}:`,
  minutes: (minutes) => `${minutes} min`,
  activePackages: (count) => (count === 1 ? '1 active package' : `${count} active packages`),
  overage: (minutes) => `Overage this cycle: ${minutes} min`,
  upgradeAdvice: (advice) =>
    `You bought extra minutes in ${advice.cycles} of the last ${advice.of} months: your plan plus top-ups came to ${advice.cost} a month on average. ` +
    `${advice.plan} costs ${advice.price} a month and would save you ${advice.saving}.`,
  upgradeLink: (plan) => `Upgrade to ${plan}`,
  autoTopup: 'Auto top-up',
  autoTopupState: (state) => ({ on: 'On', off: 'Off', paused: 'Paused' })[state],
  autoTopupRule: (name, minutes, threshold, limit, used) =>
    `Buys ${name} (${minutes} min) when ${threshold} min are left · up to ${limit} a month (${used} used)`,
  autoTopupPackageGone: (packageId) => `The package it buys (${packageId}) is no longer offered.`,
  change: 'Change',
  autoTopupEnabled: 'Buy minutes automatically',
  autoTopupThreshold: 'When minutes left fall to',
  autoTopupLimit: 'Purchases a month, at most',
  autoTopupPackage: (name, minutes, price) => `${name} · ${minutes} min · ${price}`,
  choosePackage: 'Choose a package',
  save: 'Save',
  autoTopupInvalid: (min, max) => `Enter a whole number from ${min} to ${max}.`,
  autoTopupSaved: (on) => `Auto top-up is ${on ? 'on' : 'off'}`,
  autoTopupPaused: (reason) => `Auto top-up is paused: ${reason}`,
  autoTopupPausedNoReason: 'Auto top-up is paused.',
  turnBackOn: 'Turn back on',
  autoTopupOwner: 'The account owner can turn it back on.',
  bannerLow: 'You are running low on minutes.',
  bannerExhausted: 'Your plan minutes are used up; calls now draw on your extra minutes.',
  bannerEmpty: 'You are out of minutes. Further calls are billed as overage.',
  warningChanged: (level) =>
    ({
      none: 'You have enough minutes again.',
      low: 'You are now running low on minutes.',
      exhausted: 'Your plan minutes are used up; calls now draw on your extra minutes.',
      empty: 'You are out of minutes. Further calls are billed as overage.',
    })[level] ?? '',
  dialogTitle: 'Buy more minutes',
  packagesLabel: 'Packages',
  perMinute: (price) => `${price} per minute`,
  popular: 'Popular',
  bestValue: 'Best value',
  saving: (percent) => `Save ${percent}`,
  tip: 'Tip: the large package is the best value if you regularly run low; the small one is the least commitment for a one-off month.',
  confirm: (minutes, price) => `Buy ${minutes} minutes for ${price}`,
  pending: 'Processing payment…',
  confirmingWithBank: 'Confirming with your bank…',
  bankNeedsConfirmation: 'Your bank needs to confirm this payment.',
  paymentProcessing: 'Your payment is being processed. The minutes are added once it completes.',
  checkAgain: 'Check again',
  cancel: 'Cancel',
  retry: 'Try again',
  close: 'Close',
  purchased: (minutes, extra) => `${minutes} minutes added. Extra balance: ${extra} minutes.`,
  historyTitle: 'Your packages',
  colPackage: 'Package',
  colDate: 'Bought',
  colPrice: 'Price',
  colMinutes: 'Minutes',
  colRemaining: 'Remaining',
  colStatus: 'Status',
  active: 'Active',
  used: 'Used',
  processing: 'Processing',
  awaitingBank: 'Awaiting bank confirmation',
  failed: 'Payment failed',
  refunded: 'Refunded',
  granted: 'Granted minutes',
  noCharge: 'Free',
  refundDetail: (amount, minutes, date) =>
    `${amount} refunded${date && ` on ${date}`}, ${minutes} min voided`,
  totalRemaining: (minutes) => `Total remaining: ${minutes} min`,
  noPackages: 'No packages bought yet.',
  packagesTab: 'Packages',
  recentCalls: 'Recent calls',
  callSplit: (duration, parts) => `${duration} = ${parts.join(' + ')}`,
  callPlan: (duration) => `${duration} plan`,
  callPackage: (duration, name, date) => `${duration} ${name} (bought ${date})`,
  callGrant: (duration, date) => `${duration} granted (${date})`,
  callOverage: (duration) => `${duration} overage`,
  noCalls: 'No calls yet.',
  showMore: 'Show more',
  loading: 'Loading…',
  errorNetwork: 'The service cannot be reached. Check your connection and try again.',
  errorServer: 'Something went wrong on our side. Please try again.',
  errorUnauthorized: 'Your session has expired. Reload the page to sign in again.',
  errorForbidden: 'You do not have permission to do this. Ask the account’s owner.',
  errorNoToken: 'Could not sign in to the minutes service.',
  errorAccount: 'This account could not be found.',
  errorDeclined: 'Your payment was declined. Nothing was charged. Try again or use another card.',
  errorPaymentMethod:
    'There is no payment method on file. Add a card to your account, then try again. Nothing was charged.',
  errorUnavailable: 'The payment service cannot be reached right now.',
  errorOther: 'Something went wrong. Please try again.',
  unconfirmed:
    'We could not confirm this purchase. Try again to complete it: you will not be charged twice.',
};

/** The translated message for an error code. */
export function errorText(strings: MinuteTopupStrings, code: ClientErrorCode): string {
  if (code === 'network') return strings.errorNetwork;
  if (code === 'unauthorized') return strings.errorUnauthorized;
  if (code === 'forbidden') return strings.errorForbidden;
  if (code === 'no_token') return strings.errorNoToken;
  if (code === 'account_not_found') return strings.errorAccount;
  if (code === 'payment_declined') return strings.errorDeclined;
  if (code === 'payment_method_required') return strings.errorPaymentMethod;
  if (code === 'payment_unavailable') return strings.errorUnavailable;
  if (code === 'server_error' || code === 'internal_error') return strings.errorServer;
  return strings.errorOther;
}

/** What the banner says of a paused auto top-up (and the root announces): why, when the API says. */
export const pausedText = (strings: MinuteTopupStrings, reason?: string): string =>
  reason ? strings.autoTopupPaused(reason) : strings.autoTopupPausedNoReason;

/** The translated status of a package in the history. */
export function statusText(strings: MinuteTopupStrings, status: PurchaseStatus): string {
  const text: Record<PurchaseStatus, string> = {
    active: strings.active,
    used: strings.used,
    pending: strings.processing,
    requires_action: strings.awaitingBank,
    failed: strings.failed,
    refunded: strings.refunded,
  };
  // A status newer than this widget: as the API names it.
  return text[status] ?? status;
}
