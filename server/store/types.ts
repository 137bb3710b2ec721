/**
 * The storage port of the ledger. Each implementation (SQLite, PostgreSQL,
 * in-memory) offers the same small set of row operations inside a
 * transaction; the ledger's rules live once, in `../ledger.ts`, on top of it.
 * All times are epoch milliseconds, all amounts integer seconds or minor units.
 */

export interface AccountRow {
  id: string;
  planId: string;
  cycleAnchorMs: number;
  /**
   * When the ledger created the account. Accounts made before this was kept
   * carry the earliest evidence of them instead (see the migrations).
   */
  createdAtMs: number;
  /** Maintained counter: Σ remainingSeconds of the account's purchases. */
  extraRemainingSeconds: number;
  /** Maintained counter: how many purchases are `active`. */
  activePackages: number;
  /** The account's Stripe customer (`cus_…`), whose default payment method pays (schema version 4). */
  stripeCustomerId: string | null;
  /** The ledger version: grows with every change of the balance (schema version 5). */
  version: number;
  /**
   * The warning level last recorded (schema 8), so a change of it is
   * announced once (`balance.warning_changed`); null until first recorded.
   */
  warning: WarningLevel | null;
  /**
   * Auto top-up's trigger (schema 8): its threshold in seconds while it is
   * on and not paused, else null — so a usage reads the settings only when
   * the balance is at or below it. Kept by `putAutoTopup`.
   */
  autoTopupBelowSeconds: number | null;
}

/** An account's auto top-up settings and where they stand in the billing cycle (schema 8). */
export interface AutoTopupRow {
  accountId: string;
  enabled: boolean;
  thresholdMinutes: number;
  packageId: string;
  monthlyLimit: number;
  status: 'active' | 'paused';
  pausedReason: string | null;
  /** The billing cycle the counts below belong to. */
  cycleStartMs: number;
  /** Auto purchases made or under way in that cycle (a declined one is taken back). */
  cycleCount: number;
  /** Auto purchases attempted in that cycle: names each one's idempotency key. */
  sequence: number;
  /** The key of the auto purchase under way, if any: never two at once. */
  pendingKey: string | null;
  updatedAtMs: number;
}

/** One webhook to the host in the outbox (schema 8). */
export interface WebhookRow {
  /** The `webhook-id`, the same on every retry. */
  id: string;
  accountId: string;
  type: string;
  /** The JSON body, `{type, timestamp, data}`. */
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAtMs: number;
  nextAttemptAtMs: number;
  deliveredAtMs: number | null;
  lastError: string | null;
}

/** What one delivery attempt leaves: delivered, due again later, or given up. */
export type WebhookOutcome = Pick<
  WebhookRow,
  'status' | 'attempts' | 'nextAttemptAtMs' | 'deliveredAtMs' | 'lastError'
>;

export interface PurchaseRow {
  id: string;
  accountId: string;
  packageId: string;
  name: string;
  minutes: number;
  priceMinor: number;
  currency: string;
  purchasedAtMs: number;
  totalSeconds: number;
  remainingSeconds: number;
  /**
   * Whether it still holds minutes. A refunded purchase is `used` here (its
   * remaining minutes were voided) with `refundedSeconds` set: the API shows
   * it as `refunded`.
   */
  status: 'active' | 'used';
  /** The processor's reference of the payment (Stripe: the PaymentIntent id). */
  paymentRef: string;
  idempotencyKey: string;
  /** Seconds a refund voided; null unless refunded (schema version 4). */
  refundedSeconds: number | null;
  /** `grant`: free minutes an operator gave (price 0, no payment); else `package` (schema 7). */
  kind: 'package' | 'grant';
  /** Why the minutes were granted; null on packages. */
  reason: string | null;
  /** Money refunded, minor units; null unless refunded (or refunded before schema 7). */
  refundMinor: number | null;
  /** When it was refunded; null unless refunded (or refunded before schema 7). */
  refundedAtMs: number | null;
}

/** A purchase's refund: the seconds voided, the money returned and when. */
export interface RefundValues {
  seconds: number;
  minor: number;
  atMs: number;
}

import type { WarningLevel } from '../../contract/index.js';
export type { CycleCounters } from '../domain/counters.js';
import type { CycleCounters } from '../domain/counters.js';

export interface UsageRow {
  accountId: string;
  callId: string;
  seconds: number;
  occurredAtMs: number;
  cycleStartMs: number;
  fromPlanSeconds: number;
  overageSeconds: number;
  fromExtra: { purchaseId: string; seconds: number }[];
  /** The JSON body of the first answer, replayed for a repeated callId. */
  response: string;
  /**
   * The account's ledger version the usage made (schema 7): unique per
   * account, in the order the ledger recorded its usage — the key the usage
   * history pages over. Usage recorded before schema 7 has negative ones.
   */
  version: number;
}

/** A usage as the history lists it: everything but the stored answer. */
export type UsageEntry = Omit<UsageRow, 'response'>;

/** Which usage `listUsage` reads: versions strictly between the bounds, in `order`, at most `limit`. */
export interface UsageRange {
  afterVersion?: number;
  beforeVersion?: number;
  order: 'asc' | 'desc';
  limit: number;
}

/**
 * The package a purchase intent charges for, as it stood in the catalog when
 * the intent was recorded: the charge, its retries and the credited purchase
 * all use these, whatever the catalog says later.
 */
export interface ChargedPackage {
  name: string;
  minutes: number;
  priceMinor: number;
  currency: string;
}

export interface PurchaseIntentRow {
  accountId: string;
  idempotencyKey: string;
  packageId: string;
  status: 'pending' | 'completed';
  /** The JSON body of the first successful answer, once completed. */
  response: string | null;
  createdAtMs: number;
  /**
   * What the intent charges for (schema version 3). Null (or absent) on an
   * intent recorded by an earlier version, which falls back to the catalog.
   */
  charged?: ChargedPackage | null;
  /**
   * The attempt the charge is made under (see `ChargeRequest.attempt`): new
   * for each intent recorded, and again when a failed payment is retried
   * under the same key. Empty on intents of earlier versions (schema 4).
   */
  attempt: string;
  /** The id the purchase gets once credited, announced in a 202 before that. */
  purchaseId: string | null;
  /** The processor's reference of the charge, once known (a 202, a failure). */
  paymentRef: string | null;
  /** The customer the attempt charges (schema version 6); null before, or for none. */
  customerId: string | null;
  /**
   * Where the payment stands while the intent is pending: null while it is
   * charged (or before), `requires_action` (the customer must authenticate),
   * `processing`, or `failed` (the payment did not go through after all; the
   * key may be used again). The API shows such an intent as a purchase.
   */
  paymentState: 'requires_action' | 'processing' | 'failed' | null;
}

/** What a usage call reads once its account is locked (`readForUsage`). */
export interface UsageReads {
  /** The account, locked for the rest of the transaction; null when there is none. */
  account: AccountRow | null;
  /** The usage recorded earlier under the same call id, if any. */
  earlier: UsageRow | null;
  /** The counters of the account's cycles that start within the windows asked for, by start. */
  cycles: Map<number, CycleCounters>;
  /** The active purchases, oldest first. */
  active: { id: string; remainingSeconds: number }[];
}

/** A usage call's writes (`writeUsage`): all of it, computed by the ledger, at once. */
export interface UsageWrite {
  /** What each package gives (in drawing order); `usedUp` when that empties it. */
  draws: { purchaseId: string; seconds: number; usedUp: boolean }[];
  /** The counters of the cycle the usage falls in: what to add. */
  cycleDelta: Partial<CycleCounters>;
  /** The usage row, its `version` the account's next (the account is locked: version + 1). */
  usage: UsageRow;
}

/**
 * What a purchase reads once its account is locked (`readForPurchase`): the
 * intent under its key and what crediting it needs.
 */
export interface PurchaseReads {
  /** The account, locked for the rest of the transaction; null when there is none (and all else then too). */
  account: AccountRow | null;
  /** The intent under the idempotency key, if any. */
  intent: PurchaseIntentRow | null;
  /** The purchase the key created, if any. */
  purchase: PurchaseRow | null;
  /** The counters of the account's billing cycle containing `nowMs`; null while it has none. */
  counters: CycleCounters | null;
  /** The account's auto top-up settings, if any. */
  autoTopup: AutoTopupRow | null;
}

/** A credit's writes (`writeCredit`): all of it, computed by the ledger, at once. */
export interface CreditWrite {
  /**
   * The purchase credited, inserted: its remaining seconds join the extra
   * balance, one more package is active, and the version grows by one to
   * `version` (the account is locked: its version + 1).
   */
  purchase: PurchaseRow;
  version: number;
  /** The cycle it was bought in, and what to add to its counters. */
  cycleStartMs: number;
  cycleDelta: Partial<CycleCounters>;
  /** The answer kept under the key: completes the pending intent (`completeIntent`)… */
  response: string;
  /** …or, when the intent is gone, inserts this completed one instead. */
  insertIntent: PurchaseIntentRow | null;
  /** The warning level to record (`setWarning`), when it changed. */
  warning: WarningLevel | null;
  /** The auto top-up settings to write (`putAutoTopup`), when they changed. */
  autoTopup: AutoTopupRow | null;
  /** Webhooks to the host, in outbox order. */
  webhooks: WebhookRow[];
}

export interface LedgerTx {
  /** The account, locked for the rest of the transaction when `forUpdate`. */
  getAccount(id: string, forUpdate?: boolean): Promise<AccountRow | null>;
  /**
   * Creates the account (created at `createdAtMs`), or changes its plan and
   * anchor (its creation time stays). Returns whether it was created.
   */
  putAccount(
    id: string,
    planId: string,
    cycleAnchorMs: number,
    createdAtMs: number,
    /** The Stripe customer to link; `null` unlinks, `undefined` keeps what is there. */
    stripeCustomerId?: string | null,
  ): Promise<boolean>;
  /**
   * Counts a change of the account's balance, in one statement: adds to its
   * extra-minute counters (zeros for a change that leaves them, a plan
   * change) and grows its version by one; returns the new version.
   */
  changeBalance(accountId: string, deltaSeconds: number, deltaActive: number): Promise<number>;

  getCycle(accountId: string, cycleStartMs: number): Promise<CycleCounters | null>;
  /** Adds `delta` to the counters of one cycle, creating them at zero first. */
  addToCycle(accountId: string, cycleStartMs: number, delta: Partial<CycleCounters>): Promise<void>;

  /** Active purchases, oldest first. */
  activePurchases(accountId: string): Promise<{ id: string; remainingSeconds: number }[]>;
  /**
   * Takes `seconds` from a purchase. A purchase is used up at zero: it
   * becomes `used`, and `usedUp` says so.
   */
  drawFromPurchase(purchaseId: string, seconds: number): Promise<{ usedUp: boolean }>;
  insertPurchase(row: PurchaseRow): Promise<void>;
  /** Newest first. */
  listPurchases(accountId: string): Promise<PurchaseRow[]>;
  /** The purchase an idempotency key created, if any. */
  findPurchaseByKey(accountId: string, idempotencyKey: string): Promise<PurchaseRow | null>;
  /** The purchase paid by the processor's payment `paymentRef`, if any. */
  findPurchaseByPaymentRef(paymentRef: string): Promise<PurchaseRow | null>;
  /** The account's purchase `purchaseId`, if any. */
  getPurchase(accountId: string, purchaseId: string): Promise<PurchaseRow | null>;
  /** The account's purchases among `ids` (in no particular order). */
  purchasesByIds(accountId: string, ids: readonly string[]): Promise<PurchaseRow[]>;
  /**
   * Refunds a purchase: its remaining seconds are voided (remaining 0,
   * status `used`) and recorded as `refundedSeconds`, with the money
   * returned and when.
   */
  markRefunded(purchaseId: string, refund: RefundValues): Promise<void>;
  /**
   * Undoes `markRefunded` (the processor refused the refund): the voided
   * seconds are the purchase's again (`active` unless there were none), the
   * refund fields cleared.
   */
  restoreRefunded(purchaseId: string): Promise<void>;

  /**
   * A usage call's reads: locks the account (as `getAccount(id, true)`), then
   * reads — after the lock, so everything committed before it is seen — the
   * earlier usage under `callId`, the counters of the cycles starting within
   * `windows` (inclusive `[from, to]` pairs of epoch ms) and the active
   * purchases. PostgreSQL sends it all, with `BEGIN`, in one round trip.
   */
  readForUsage(
    accountId: string,
    callId: string,
    windows: readonly (readonly [number, number])[],
  ): Promise<UsageReads>;
  /**
   * A usage call's writes, in one statement on PostgreSQL: draws the
   * packages, changes the extra counters and grows the version by one
   * (`changeBalance`), adds to the cycle's counters and inserts the usage
   * with its allocations. Throws unless the version it makes is
   * `usage.version` and every package was drawn.
   */
  writeUsage(write: UsageWrite): Promise<void>;
  findUsage(accountId: string, callId: string): Promise<UsageRow | null>;
  insertUsage(row: UsageRow): Promise<void>;
  /** The account's usage in `range` (by ledger version), with each usage's allocations. */
  listUsage(accountId: string, range: UsageRange): Promise<UsageEntry[]>;

  /**
   * A purchase's reads: locks the account (as `getAccount(id, true)`), then
   * reads — after the lock — the intent under `idempotencyKey`, the purchase
   * that key created, the counters of the account's billing cycle containing
   * `nowMs` and the auto top-up settings. PostgreSQL sends it all, with
   * `BEGIN`, in one round trip.
   */
  readForPurchase(accountId: string, idempotencyKey: string, nowMs: number): Promise<PurchaseReads>;
  /**
   * A credit's writes, sent together on PostgreSQL (one round trip in
   * pipeline mode): inserts the purchase and counts it in the balance
   * (`changeBalance`), adds to the cycle's counters, keeps the answer under
   * the key, and records the warning, the auto top-up settings and the
   * webhooks given. Throws unless the version it makes is `version`.
   */
  writeCredit(write: CreditWrite): Promise<void>;

  findIntent(accountId: string, idempotencyKey: string): Promise<PurchaseIntentRow | null>;
  insertIntent(row: PurchaseIntentRow): Promise<void>;
  completeIntent(accountId: string, idempotencyKey: string, response: string): Promise<void>;
  /** Writes an intent's `attempt`, `purchaseId`, `paymentRef`, `paymentState` and `customerId` (and nothing else). */
  updateIntentPayment(row: PurchaseIntentRow): Promise<void>;
  /** The pending intent whose charge is the processor's payment `paymentRef`, if any. */
  findIntentByPaymentRef(paymentRef: string): Promise<PurchaseIntentRow | null>;
  /** The account's pending intents with a `paymentState` (shown as purchases), newest first. */
  awaitingIntents(accountId: string): Promise<PurchaseIntentRow[]>;
  /** Forgets a pending intent whose charge was declined (nothing was charged). */
  deleteIntent(accountId: string, idempotencyKey: string): Promise<void>;
  pendingIntents(): Promise<PurchaseIntentRow[]>;

  /**
   * Records that the processor's event `id` was applied; false when it was
   * recorded before (the caller then applies nothing). In the transaction
   * that applies it, so an event is applied exactly once.
   */
  recordPaymentEvent(id: string, type: string, receivedAtMs: number): Promise<boolean>;

  /** Records the account's warning level (see `AccountRow.warning`). */
  setWarning(accountId: string, warning: WarningLevel): Promise<void>;
  getAutoTopup(accountId: string): Promise<AutoTopupRow | null>;
  /** Creates or replaces the settings, and sets the account's `autoTopupBelowSeconds` to match. */
  putAutoTopup(row: AutoTopupRow): Promise<void>;

  /** Adds a webhook to the outbox, in the transaction of the change it tells of. */
  insertWebhook(row: WebhookRow): Promise<void>;
  /**
   * Leases up to `limit` webhooks due at `nowMs` until `leaseUntilMs`, in
   * outbox order: of each account only its oldest undelivered one, and only
   * when no other process holds it (PostgreSQL: `FOR UPDATE SKIP LOCKED`) —
   * so one per account is in flight, in order.
   */
  claimWebhooks(nowMs: number, leaseUntilMs: number, limit: number): Promise<WebhookRow[]>;
  /**
   * Records an attempt's outcome and ends its lease — only while the lease
   * is still `leaseUntilMs`, the one this attempt was made under: a process
   * that overran its lease (another has claimed the webhook since) changes
   * nothing. Returns whether it was recorded.
   */
  finishWebhook(id: string, leaseUntilMs: number, outcome: WebhookOutcome): Promise<boolean>;
  /**
   * Forgets what no one needs any more: delivered webhooks created before
   * `deliveredBeforeMs`, failed ones before `failedBeforeMs`. Returns how many.
   */
  pruneWebhooks(deliveredBeforeMs: number, failedBeforeMs: number): Promise<number>;
  /** The outbox newest first, of one status or all. */
  listWebhooks(status: WebhookRow['status'] | undefined, limit: number): Promise<WebhookRow[]>;
}

export interface TransactOptions {
  /**
   * The transaction only reads: it sees one consistent snapshot (PostgreSQL
   * runs it REPEATABLE READ READ ONLY instead of locking).
   */
  readOnly?: boolean;
}

export interface LedgerStore {
  readonly kind: 'sqlite' | 'postgres' | 'memory';
  /**
   * Runs `fn` in one transaction: all of its writes become durable together
   * before the returned promise resolves, or none of them do.
   */
  transact<T>(fn: (tx: LedgerTx) => Promise<T>, options?: TransactOptions): Promise<T>;
  /** What the ledger rows add up to, beside the maintained counters (for checks). */
  audit(): Promise<LedgerAudit>;
  close(): Promise<void>;
}

/** Totals that must equal the maintained counters: for invariant checks in tests. */
export interface LedgerAudit {
  accounts: {
    id: string;
    extraRemainingSeconds: number;
    activePackages: number;
    sumPurchaseRemaining: number;
    countActive: number;
  }[];
  purchases: {
    id: string;
    totalSeconds: number;
    remainingSeconds: number;
    allocated: number;
    /** Seconds a refund voided (0 unless refunded). */
    refunded: number;
  }[];
  cycles: {
    accountId: string;
    cycleStartMs: number;
    planUsedSeconds: number;
    sumFromPlan: number;
    extraUsedSeconds: number;
    sumFromExtra: number;
    overageSeconds: number;
    sumOverage: number;
  }[];
  usages: {
    callId: string;
    seconds: number;
    fromPlan: number;
    fromExtra: number;
    overage: number;
  }[];
}
