import { DomainError } from '../domain/errors.js';

/**
 * The payment port. A real deployment plugs in its processor here; the test
 * gateway (`test-gateway.ts`) approves by default and declines on demand.
 */

/**
 * The idempotency key a purchase is charged under at the gateway: the SHA-256
 * (hex) of the JSON pair `[accountId, idempotencyKey]`. JSON keeps the two
 * parts apart whatever they contain — joining them with `:` let account `p`
 * with key `q:k2` and account `p:q` with key `k2` share one charge — and the
 * hash gives every processor a key of one short, fixed length. Every place
 * that derives a gateway key calls this, so a retry always finds its charge.
 *
 * @example
 * await chargeKeyOf('p', 'q:k2') !== await chargeKeyOf('p:q', 'k2'); // true
 */
export async function chargeKeyOf(accountId: string, idempotencyKey: string): Promise<string> {
  const pair = new TextEncoder().encode(JSON.stringify([accountId, idempotencyKey]));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', pair));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * COMPATIBILITY for charges made before this version: the gateway key the
 * earlier version derived, `${accountId}:${idempotencyKey}`. It is ambiguous
 * (see `chargeKeyOf`), so it is only ever looked up — never charged under —
 * for an intent recorded by that version, and a charge found under it counts
 * only when its account, amount and currency are the intent's
 * (`assertSameCharge`). Remove it once no such intent can be pending.
 */
export function legacyChargeKeyOf(accountId: string, idempotencyKey: string): string {
  return `${accountId}:${idempotencyKey}`;
}

/**
 * The reason of an off-session charge declined because the bank wants the
 * customer to authenticate (Stripe's `authentication_required`): only a
 * purchase they make themselves can do that.
 */
export const AUTHENTICATION_NEEDED =
  'The bank asks the customer to confirm payments: buy one package by hand to turn auto top-up back on.';

export interface ChargeRequest {
  /**
   * Unique per purchase (`chargeKeyOf(accountId, purchaseKey)`): the same key
   * never charges twice.
   */
  idempotencyKey: string;
  /**
   * Which attempt at the purchase this is: a new one after a decline (the
   * key may be used again then), the same one across retries, crashes and
   * processes. A processor that remembers declines (Stripe replays a
   * declined request under its idempotency key) keys the charge by both.
   * Empty for intents recorded before attempts were kept.
   */
  attempt: string;
  accountId: string;
  /** The purchase's own idempotency key, as the client sent it (for the processor's records). */
  purchaseKey: string;
  packageId: string;
  /** The account's customer at the processor (Stripe: `cus_…`), if linked. */
  customerId: string | null;
  amountMinor: number;
  currency: string;
  description: string;
  /**
   * The customer is not there (an auto top-up): the processor may not ask
   * them to authenticate, so a payment that needs it is declined (Stripe:
   * `off_session`, `authentication_required`). Absent: they are there.
   */
  offSession?: boolean;
}

/**
 * Where a charge stands. `approved`: paid, credit the minutes. `declined`:
 * nothing was charged (`code` says why when it is not the card: no payment
 * method on file). `requires_action`: the customer must authenticate with
 * `clientSecret`. `processing`: the processor has not decided yet.
 */
export type ChargeResult =
  | { status: 'approved'; reference: string }
  | { status: 'declined'; reason: string; code?: 'payment_method_required' }
  | { status: 'requires_action'; reference: string; clientSecret: string }
  | { status: 'processing'; reference: string };

/** What identifies a charge beyond its key: a replay must match all of it. */
export type ChargeIdentity = Pick<
  ChargeRequest,
  'idempotencyKey' | 'accountId' | 'amountMinor' | 'currency'
>;

/** What start-up recovery knows of a charge it looks for. */
export type ChargeLookup = ChargeIdentity &
  Pick<ChargeRequest, 'attempt' | 'customerId'> & {
    /** When the purchase's intent was recorded (epoch ms): no charge of it is older. */
    sinceMs: number;
  };

export interface PaymentGateway {
  /**
   * Charges once per idempotency key and attempt; a repeat returns where the
   * first stands. A repeat whose account, amount or currency differs from the
   * charge on record is refused with a `charge_conflict` DomainError: it never
   * approves. A processor that cannot be reached throws a
   * `payment_unavailable` DomainError; a retry finds any charge it made.
   */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /**
   * Where the charge made under `lookup` stands, if one was made (start-up
   * recovery: the answer to `charge` may have been lost with the process);
   * one made for another account, amount or currency is refused
   * (`charge_conflict`).
   */
  findCharge(lookup: ChargeLookup): Promise<ChargeResult | null>;
  /** Where the charge `reference` stands now (after the customer authenticated, say). */
  chargeState(reference: string): Promise<ChargeResult>;
  /**
   * Refunds `amountMinor` of the payment `paymentRef`, once per
   * `idempotencyKey`: a repeat returns the first refund. A processor that
   * cannot be reached throws `payment_unavailable` (a retry with the same key
   * finds any refund made); one that refuses the refund throws
   * `refund_failed` with its reason.
   */
  refund(request: RefundRequest): Promise<RefundResult>;
}

export interface RefundRequest {
  /** Unique per refunded purchase (`refundKeyOf`): the same key never refunds twice. */
  idempotencyKey: string;
  accountId: string;
  purchaseId: string;
  /** The processor's reference of the purchase's payment (Stripe: the PaymentIntent id). */
  paymentRef: string;
  /** What to refund, minor units (> 0; at most what was charged). */
  amountMinor: number;
  currency: string;
}

export interface RefundResult {
  /** The processor's reference of the refund (Stripe: `re_…`). */
  reference: string;
}

/**
 * The gateway key of a purchase's refund. A purchase is refunded at most
 * once, so its id alone names the refund, whichever operator key asked.
 */
export function refundKeyOf(purchaseId: string): string {
  return `refund-${purchaseId}`;
}

/**
 * Refuses to let `wanted` replay `onRecord`, the charge made under the same
 * key, unless both are for the same account, amount and currency.
 */
export function assertSameCharge(
  onRecord: Omit<ChargeIdentity, 'idempotencyKey'>,
  wanted: ChargeIdentity,
): void {
  const differs = (['accountId', 'amountMinor', 'currency'] as const).filter(
    (field) => onRecord[field] !== wanted[field],
  );
  if (differs.length === 0) return;
  throw new ChargeConflictError(differs);
}

/**
 * `charge_conflict`: a charge is on record under the key for another account,
 * amount or currency (`differs`). The request made no charge of its own; the
 * charge on record stands as it is — which may be this purchase's own, made at
 * an earlier price, so nothing here says whether the customer was charged.
 */
export class ChargeConflictError extends DomainError {
  constructor(readonly differs: readonly ('accountId' | 'amountMinor' | 'currency')[]) {
    super(
      'charge_conflict',
      `A charge is on record under this purchase's payment key for another ${differs
        .map((f) => (f === 'accountId' ? 'account' : f === 'amountMinor' ? 'amount' : f))
        .join(' and ')}; this request was refused and made no new charge.`,
    );
  }
}

export interface RecordedCharge extends ChargeRequest {
  reference: string;
}

/**
 * Where a test gateway keeps its charges. A journal shared by several
 * processes (a file, see `charge-journal.ts`) makes them one gateway: a key is
 * charged once, whichever process asks first.
 */
export interface ChargeJournal {
  find(idempotencyKey: string): RecordedCharge | null;
  /** Records `charge` unless a charge is on record under its key; returns the one on record. */
  record(charge: RecordedCharge): RecordedCharge;
}
