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
 * Where a test gateway keeps its charges. A journal shared by several
 * processes (a file, see `charge-journal.ts`) makes them one gateway: a key is
 * charged once, whichever process asks first.
 */
export interface ChargeJournal {
  find(idempotencyKey: string): RecordedCharge | null;
  /** Records `charge` unless a charge is on record under its key; returns the one on record. */
  record(charge: RecordedCharge): RecordedCharge;
}

/**
 * A gateway for tests and the demo: approves, keeps every approved charge (in
 * memory, and in `journal` when given), and declines for the accounts named
 * in `declineFor`.
 */
export class TestPaymentGateway implements PaymentGateway {
  /** The charges this gateway made or found on record, by idempotency key. */
  readonly charges = new Map<string, RecordedCharge>();
  readonly declining = new Set<string>();
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

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    // The wait comes first: from here on the check and the record are one step.
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const earlier = this.lookup(request.idempotencyKey);
    if (earlier) return { status: 'approved', reference: earlier.reference };
    if (this.declining.has(request.accountId)) {
      return { status: 'declined', reason: 'The card was declined.' };
    }
    const charge = { ...request, reference: `test_ch_${crypto.randomUUID()}` };
    const recorded = this.journal ? this.journal.record(charge) : charge;
    this.charges.set(request.idempotencyKey, recorded);
    if (recorded === charge) {
      this.chargeCount += 1;
      this.onCharge?.(charge);
    }
    return { status: 'approved', reference: recorded.reference };
  }

  async findCharge(idempotencyKey: string): Promise<{ reference: string } | null> {
    const c = this.lookup(idempotencyKey);
    return c ? { reference: c.reference } : null;
  }

  private lookup(idempotencyKey: string): RecordedCharge | null {
    const known = this.charges.get(idempotencyKey) ?? this.journal?.find(idempotencyKey) ?? null;
    if (known) this.charges.set(idempotencyKey, known);
    return known;
  }

  /** Called after each new charge this gateway made (a test may simulate a crash here). */
  onCharge?: (charge: RecordedCharge) => void;
}
