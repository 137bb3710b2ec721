/**
 * The payment port. A real deployment plugs in its processor here; the test
 * gateway below approves by default and declines on demand.
 */

export interface ChargeRequest {
  /** Unique per purchase attempt: the same key never charges twice. */
  idempotencyKey: string;
  accountId: string;
  amountMinor: number;
  currency: string;
  description: string;
}

export type ChargeResult =
  { status: 'approved'; reference: string } | { status: 'declined'; reason: string };

export interface PaymentGateway {
  /** Charges once per idempotency key; a repeat returns the first approval. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** The approved charge made under `idempotencyKey`, if any. */
  findCharge(idempotencyKey: string): Promise<{ reference: string } | null>;
}

export interface RecordedCharge extends ChargeRequest {
  reference: string;
}

/**
 * A gateway for tests and the demo: approves, keeps every approved charge in
 * memory (or wherever `persist` writes it), and declines for the accounts
 * named in `declineFor`.
 */
export class TestPaymentGateway implements PaymentGateway {
  readonly charges = new Map<string, RecordedCharge>();
  readonly declining = new Set<string>();
  /** How many times a new charge was actually made (repeats excluded). */
  chargeCount = 0;

  constructor(options: { declineFor?: Iterable<string>; charges?: Iterable<RecordedCharge> } = {}) {
    for (const id of options.declineFor ?? []) this.declining.add(id);
    for (const c of options.charges ?? []) this.charges.set(c.idempotencyKey, c);
  }

  /** Makes the gateway decline (or approve again) the cards of an account. */
  setDeclining(accountId: string, declining = true): void {
    if (declining) this.declining.add(accountId);
    else this.declining.delete(accountId);
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const earlier = this.charges.get(request.idempotencyKey);
    if (earlier) return { status: 'approved', reference: earlier.reference };
    if (this.declining.has(request.accountId)) {
      return { status: 'declined', reason: 'The card was declined.' };
    }
    this.chargeCount += 1;
    const reference = `test_ch_${this.chargeCount}_${request.idempotencyKey.slice(-12)}`;
    const charge = { ...request, reference };
    this.charges.set(request.idempotencyKey, charge);
    this.onCharge?.(charge);
    return { status: 'approved', reference };
  }

  async findCharge(idempotencyKey: string): Promise<{ reference: string } | null> {
    const c = this.charges.get(idempotencyKey);
    return c ? { reference: c.reference } : null;
  }

  /** Called after each new charge (a test may persist it to survive a crash). */
  onCharge?: (charge: RecordedCharge) => void;
}
