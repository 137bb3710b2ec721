import { randomUuid } from '../../contract/random-uuid.js';
import {
  assertSameCharge,
  type ChargeJournal,
  type ChargeLookup,
  type ChargeRequest,
  type ChargeResult,
  type PaymentGateway,
  type RecordedCharge,
} from './gateway.js';

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
    const earlier = this.lookup(request);
    if (earlier) return { status: 'approved', reference: earlier.reference };
    if (this.declining.has(request.accountId)) {
      return { status: 'declined', reason: 'The card was declined.' };
    }
    const charge = { ...request, reference: `test_ch_${randomUuid()}` };
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

  async findCharge(lookup: ChargeLookup): Promise<{ reference: string } | null> {
    const c = this.lookup(lookup);
    return c ? { reference: c.reference } : null;
  }

  /** The charge on record under the key, if it matches `wanted` (else `charge_conflict`). */
  private lookup(wanted: ChargeLookup): RecordedCharge | null {
    const key = wanted.idempotencyKey;
    const known = this.charges.get(key) ?? this.journal?.find(key) ?? null;
    if (!known) return null;
    assertSameCharge(known, wanted);
    this.charges.set(key, known);
    return known;
  }

  /** Called after each new charge this gateway made (a test may simulate a crash here). */
  onCharge?: (charge: RecordedCharge) => void;
}
