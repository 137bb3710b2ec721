import { randomUuid } from '../../contract/random-uuid.js';
import {
  AUTHENTICATION_NEEDED,
  assertSameCharge,
  type ChargeJournal,
  type ChargeIdentity,
  type ChargeLookup,
  type ChargeRequest,
  type ChargeResult,
  type PaymentGateway,
  type RecordedCharge,
  type RefundRequest,
  type RefundResult,
} from './gateway.js';
import { DomainError } from '../domain/errors.js';

/**
 * A gateway for tests and the demo: approves, keeps every approved charge (in
 * memory, and in `journal` when given), and declines for the accounts named
 * in `declineFor`. For the accounts set with `setRequiresAction` a charge
 * waits for the customer to authenticate (`authenticate`), as a bank's 3-D
 * Secure check would — kept in memory only: one process's test feature.
 */
export class TestPaymentGateway implements PaymentGateway {
  /** The charges this gateway made or found on record, by idempotency key. */
  readonly charges = new Map<string, RecordedCharge>();
  readonly declining = new Set<string>();
  readonly authenticating = new Set<string>();
  /** Charges waiting for the customer, by reference; and the reference of each key and attempt. */
  private readonly awaiting = new Map<string, ChargeRequest & { reference: string }>();
  private readonly awaitingByAttempt = new Map<string, string>();
  private readonly declinedAfterAction = new Set<string>();
  /** How many charges this gateway actually made (repeats excluded). */
  chargeCount = 0;
  /** How long each charge waits before it is decided, ms (tests: a slow processor). */
  readonly delayMs: number;
  private readonly journal?: ChargeJournal;

  constructor(
    options: { declineFor?: Iterable<string>; delayMs?: number; journal?: ChargeJournal } = {},
  ) {
    for (const id of options.declineFor ?? []) this.declining.add(id);
    this.delayMs = options.delayMs ?? 0;
    this.journal = options.journal;
  }

  /** Makes the gateway decline (or approve again) the cards of an account. */
  setDeclining(accountId: string, declining = true): void {
    if (declining) this.declining.add(accountId);
    else this.declining.delete(accountId);
  }

  /** Makes the charges of an account wait for the customer to authenticate (or, with `false`, not). */
  setRequiresAction(accountId: string, on = true): void {
    if (on) this.authenticating.add(accountId);
    else this.authenticating.delete(accountId);
  }

  /**
   * The customer authenticated (`ok`) or gave up on the charge waiting under
   * `clientSecret` (or its reference): it is approved, or declined.
   */
  authenticate(clientSecretOrReference: string, ok = true): void {
    const reference = clientSecretOrReference.replace(/_secret$/, '');
    const waiting = this.awaiting.get(reference);
    if (!waiting) throw new Error(`No charge waits for authentication under ${reference}`);
    this.awaiting.delete(reference);
    if (ok) this.approve(waiting, reference);
    else this.declinedAfterAction.add(reference);
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    // The wait comes first: from here on the check and the record are one step.
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const earlier = this.lookup(request);
    if (earlier) return { status: 'approved', reference: earlier.reference };
    const attemptKey = attemptKeyOf(request);
    const waiting = this.awaitingByAttempt.get(attemptKey);
    if (waiting) return this.chargeState(waiting);
    if (this.declining.has(request.accountId)) {
      return { status: 'declined', reason: 'The card was declined.' };
    }
    if (this.authenticating.has(request.accountId)) {
      // Nobody is there to authenticate: declined, as Stripe's `authentication_required`.
      if (request.offSession) {
        return { status: 'declined', reason: AUTHENTICATION_NEEDED };
      }
      const reference = `test_pi_${randomUuid()}`;
      this.awaiting.set(reference, { ...request, reference });
      this.awaitingByAttempt.set(attemptKey, reference);
      return { status: 'requires_action', reference, clientSecret: `${reference}_secret` };
    }
    return this.approve(request, `test_ch_${randomUuid()}`);
  }

  async chargeState(reference: string): Promise<ChargeResult> {
    const waiting = this.awaiting.get(reference);
    if (waiting)
      return { status: 'requires_action', reference, clientSecret: `${reference}_secret` };
    if (this.declinedAfterAction.has(reference)) {
      return { status: 'declined', reason: 'The customer did not authenticate the payment.' };
    }
    const approved = [...this.charges.values()].find((c) => c.reference === reference);
    if (approved) return { status: 'approved', reference };
    throw new Error(`No charge ${reference}`);
  }

  /** Records an approved charge under its key, once (another process may have been first). */
  private approve(request: ChargeRequest, reference: string): ChargeResult {
    const charge = { ...request, reference };
    const recorded = this.journal ? this.journal.record(charge) : charge;
    // Another process may have recorded its charge under the key first.
    if (recorded !== charge) assertSameCharge(recorded, request);
    this.charges.set(request.idempotencyKey, recorded);
    if (recorded === charge) {
      this.chargeCount += 1;
      this.onCharge?.(charge);
    }
    return { status: 'approved', reference: recorded.reference };
  }

  async findCharge(lookup: ChargeLookup): Promise<ChargeResult | null> {
    const c = this.lookup(lookup);
    if (c) return { status: 'approved', reference: c.reference };
    const waiting = this.awaitingByAttempt.get(attemptKeyOf(lookup));
    return waiting ? this.chargeState(waiting) : null;
  }

  /** The charge on record under the key, if it matches `wanted` (else `charge_conflict`). */
  private lookup(wanted: ChargeIdentity): RecordedCharge | null {
    const key = wanted.idempotencyKey;
    const known = this.charges.get(key) ?? this.journal?.find(key) ?? null;
    if (!known) return null;
    assertSameCharge(known, wanted);
    this.charges.set(key, known);
    return known;
  }

  /** The refunds this gateway made, by idempotency key. */
  readonly refunds = new Map<string, RefundRequest & { reference: string }>();
  /** While true, refunds fail as if the processor could not be reached. */
  refundsUnavailable = false;
  /** While true, the processor refuses refunds (`refund_failed`: disputed, refunded elsewhere). */
  refusingRefunds = false;

  async refund(request: RefundRequest): Promise<RefundResult> {
    if (this.refundsUnavailable) {
      throw new DomainError('payment_unavailable', 'The payment processor could not be reached.');
    }
    const earlier = this.refunds.get(request.idempotencyKey);
    if (earlier) return { reference: earlier.reference };
    if (this.refusingRefunds) {
      throw new DomainError('refund_failed', 'The payment is disputed: it cannot be refunded.');
    }
    const charge = [...this.charges.values()].find((c) => c.reference === request.paymentRef);
    if (charge && request.amountMinor > charge.amountMinor) {
      throw new DomainError('refund_failed', 'The refund is larger than the payment.');
    }
    const refund = { ...request, reference: `test_re_${randomUuid()}` };
    this.refunds.set(request.idempotencyKey, refund);
    this.onRefund?.(refund);
    return { reference: refund.reference };
  }

  /** Called after each new refund this gateway made (a test may simulate a crash here). */
  onRefund?: (refund: RefundRequest & { reference: string }) => void;

  /** Called after each new charge this gateway made (a test may simulate a crash here). */
  onCharge?: (charge: RecordedCharge) => void;
}

/** A charge's key and attempt, as one map key. */
const attemptKeyOf = (c: { idempotencyKey: string; attempt: string }) =>
  `${c.idempotencyKey}\n${c.attempt}`;
