import { COUNTER_NAMES } from '../domain/counters.js';
import type { WarningLevel } from '../../contract/index.js';
import type {
  AccountRow,
  AutoTopupRow,
  CycleCounters,
  LedgerAudit,
  PurchaseIntentRow,
  PurchaseRow,
  UsageEntry,
  UsageRange,
  UsageRow,
  WebhookOutcome,
  WebhookRow,
} from './types.js';

/** Row mappers and audit queries shared by the SQL stores. */

export type Row = Record<string, unknown>;
export const num = (v: unknown) => Number(v);
/** A nullable column: NULL (or a column an older schema lacks) reads as null. */
const textOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : num(v));

const PAYMENT_STATES = ['requires_action', 'processing', 'failed'] as const;
function paymentStateFrom(v: unknown): PurchaseIntentRow['paymentState'] {
  return PAYMENT_STATES.find((s) => s === v) ?? null;
}

export function accountFrom(r: Row): AccountRow {
  return {
    id: String(r.id),
    planId: String(r.plan_id),
    cycleAnchorMs: num(r.cycle_anchor_ms),
    createdAtMs: num(r.created_at_ms),
    extraRemainingSeconds: num(r.extra_remaining_seconds),
    activePackages: num(r.active_packages),
    version: num(r.version ?? 0),
    stripeCustomerId: textOrNull(r.stripe_customer_id),
    warning: warningFrom(r.warning),
    autoTopupBelowSeconds: numOrNull(r.auto_topup_below_seconds),
  };
}

const WARNINGS = ['none', 'low', 'exhausted', 'empty'] as const;
function warningFrom(v: unknown): WarningLevel | null {
  return WARNINGS.find((w) => w === v) ?? null;
}

/**
 * The account's trigger for its auto top-up settings
 * (`AccountRow.autoTopupBelowSeconds`): none while it is off, paused or has
 * a purchase under way, so a usage then reads nothing more.
 */
export function autoTopupBelowSeconds(a: AutoTopupRow): number | null {
  return a.enabled && a.status === 'active' && a.pendingKey === null
    ? a.thresholdMinutes * 60
    : null;
}

export function autoTopupFrom(r: Row): AutoTopupRow {
  return {
    accountId: String(r.account_id),
    enabled: r.enabled === true || num(r.enabled) === 1,
    thresholdMinutes: num(r.threshold_minutes),
    packageId: String(r.package_id),
    monthlyLimit: num(r.monthly_limit),
    status: r.status === 'paused' ? 'paused' : 'active',
    pausedReason: textOrNull(r.paused_reason),
    cycleStartMs: num(r.cycle_start_ms),
    cycleCount: num(r.cycle_count),
    sequence: num(r.sequence),
    pendingKey: textOrNull(r.pending_key),
    updatedAtMs: num(r.updated_at_ms),
  };
}

/** The settings' values after the account id, in column order (the SQL stores' upserts). */
export function autoTopupValues(a: AutoTopupRow) {
  return [
    a.thresholdMinutes,
    a.packageId,
    a.monthlyLimit,
    a.status,
    a.pausedReason,
    a.cycleStartMs,
    a.cycleCount,
    a.sequence,
    a.pendingKey,
    a.updatedAtMs,
  ] as const;
}

const WEBHOOK_STATES = ['pending', 'delivered', 'failed'] as const;
export function webhookFrom(r: Row): WebhookRow {
  return {
    id: String(r.id),
    accountId: String(r.account_id),
    type: String(r.type),
    body: String(r.body),
    status: WEBHOOK_STATES.find((s) => s === r.status) ?? 'pending',
    attempts: num(r.attempts),
    createdAtMs: num(r.created_at_ms),
    nextAttemptAtMs: num(r.next_attempt_at_ms),
    deliveredAtMs: numOrNull(r.delivered_at_ms),
    lastError: textOrNull(r.last_error),
  };
}

/** A new webhook's values, in the column order of the SQL stores' inserts. */
export function webhookValues(w: WebhookRow) {
  return [
    w.id,
    w.accountId,
    w.type,
    w.body,
    w.status,
    w.attempts,
    w.createdAtMs,
    w.nextAttemptAtMs,
  ] as const;
}

/** The columns an attempt's outcome writes, in the order of the SQL stores' updates. */
export function webhookOutcomeValues(o: WebhookOutcome) {
  return [o.status, o.attempts, o.nextAttemptAtMs, o.deliveredAtMs, o.lastError] as const;
}

export function purchaseFrom(r: Row): PurchaseRow {
  return {
    id: String(r.id),
    accountId: String(r.account_id),
    packageId: String(r.package_id),
    name: String(r.name),
    minutes: num(r.minutes),
    priceMinor: num(r.price_minor),
    currency: String(r.currency),
    purchasedAtMs: num(r.purchased_at_ms),
    totalSeconds: num(r.total_seconds),
    remainingSeconds: num(r.remaining_seconds),
    status: r.status === 'used' ? 'used' : 'active',
    paymentRef: String(r.payment_ref),
    idempotencyKey: String(r.idempotency_key),
    refundedSeconds: numOrNull(r.refunded_seconds),
    // Schema version 7; packages and NULLs on rows written before.
    kind: r.kind === 'grant' ? 'grant' : 'package',
    reason: textOrNull(r.reason),
    refundMinor: numOrNull(r.refund_minor),
    refundedAtMs: numOrNull(r.refunded_at_ms),
  };
}

/** A purchase's columns by name, as the SQL stores' `insertPurchase` takes them. */
export function purchaseValues(p: PurchaseRow) {
  return {
    ...p,
    refundedSeconds: p.refundedSeconds ?? null,
    kind: p.kind ?? 'package',
    reason: p.reason ?? null,
    refundMinor: p.refundMinor ?? null,
    refundedAtMs: p.refundedAtMs ?? null,
  };
}

export function intentFrom(r: Row): PurchaseIntentRow {
  return {
    accountId: String(r.account_id),
    idempotencyKey: String(r.idempotency_key),
    packageId: String(r.package_id),
    status: r.status === 'completed' ? 'completed' : 'pending',
    response: r.response === null ? null : String(r.response),
    createdAtMs: num(r.created_at_ms),
    charged:
      r.price_minor === null || r.price_minor === undefined
        ? null
        : {
            name: String(r.package_name),
            minutes: num(r.minutes),
            priceMinor: num(r.price_minor),
            currency: String(r.currency),
          },
    // Schema version 4; '' and NULLs on intents recorded before.
    attempt: r.attempt === null || r.attempt === undefined ? '' : String(r.attempt),
    purchaseId: textOrNull(r.purchase_id),
    paymentRef: textOrNull(r.payment_ref),
    paymentState: paymentStateFrom(r.payment_state),
    customerId: textOrNull(r.customer_id),
  };
}

/** The version-3 columns of an intent, in the order the stores' `insertIntent` takes them. */
export function chargedValues(i: PurchaseIntentRow): (string | number | null)[] {
  const c = i.charged ?? null;
  return [c?.name ?? null, c?.minutes ?? null, c?.priceMinor ?? null, c?.currency ?? null];
}

/**
 * The payment fields of an intent (schema versions 4 and 6) with their
 * defaults: an empty attempt and nulls on an intent written without them.
 */
export function paymentFields(i: PurchaseIntentRow) {
  return {
    attempt: i.attempt ?? '',
    purchaseId: i.purchaseId ?? null,
    paymentRef: i.paymentRef ?? null,
    paymentState: i.paymentState ?? null,
    customerId: i.customerId ?? null,
  };
}

/**
 * The payment columns of an intent (attempt, purchase_id, payment_ref,
 * payment_state, customer_id), in the order the stores' `insertIntent`
 * (after `chargedValues`) and `updateIntentPayment` take them.
 */
export function paymentValues(i: PurchaseIntentRow): (string | null)[] {
  const f = paymentFields(i);
  return [f.attempt, f.purchaseId, f.paymentRef, f.paymentState, f.customerId];
}

export function countersFrom(r: Row): CycleCounters {
  return {
    planUsedSeconds: num(r.plan_used_seconds),
    extraUsedSeconds: num(r.extra_used_seconds),
    overageSeconds: num(r.overage_seconds),
    topupCount: num(r.topup_count),
    topupSpendMinor: num(r.topup_spend_minor),
  };
}

export function usageFrom(r: Row, fromExtra: UsageRow['fromExtra']): UsageRow {
  return { ...usageEntryFrom(r, fromExtra), response: String(r.response) };
}

export function usageEntryFrom(r: Row, fromExtra: UsageRow['fromExtra']): UsageEntry {
  return {
    version: num(r.version ?? 0),
    accountId: String(r.account_id),
    callId: String(r.call_id),
    seconds: num(r.seconds),
    occurredAtMs: num(r.occurred_at_ms),
    cycleStartMs: num(r.cycle_start_ms),
    fromPlanSeconds: num(r.from_plan_seconds),
    overageSeconds: num(r.overage_seconds),
    fromExtra,
  };
}

/** The SQL bounds of a `UsageRange` (versions strictly between them). */
export function usageBounds(range: UsageRange): [after: number, before: number] {
  return [
    range.afterVersion ?? Number.MIN_SAFE_INTEGER,
    range.beforeVersion ?? Number.MAX_SAFE_INTEGER,
  ];
}

/** The audit queries, shared by the SQL stores (plain SQL both dialects accept). */
export async function sqlAudit(all: (sql: string) => Row[] | Promise<Row[]>): Promise<LedgerAudit> {
  const accounts = (
    await all(
      `SELECT a.id, a.extra_remaining_seconds, a.active_packages,
         COALESCE(SUM(p.remaining_seconds), 0) AS sum_remaining,
         COALESCE(SUM(CASE WHEN p.status = 'active' THEN 1 ELSE 0 END), 0) AS count_active
       FROM accounts a LEFT JOIN purchases p ON p.account_id = a.id
       GROUP BY a.id, a.extra_remaining_seconds, a.active_packages`,
    )
  ).map((r) => ({
    id: String(r.id),
    extraRemainingSeconds: num(r.extra_remaining_seconds),
    activePackages: num(r.active_packages),
    sumPurchaseRemaining: num(r.sum_remaining),
    countActive: num(r.count_active),
  }));
  const purchases = (
    await all(
      `SELECT p.id, p.total_seconds, p.remaining_seconds, COALESCE(p.refunded_seconds, 0) AS refunded,
         COALESCE(SUM(u.seconds), 0) AS allocated
       FROM purchases p LEFT JOIN usage_allocations u ON u.purchase_id = p.id
       GROUP BY p.id, p.total_seconds, p.remaining_seconds, p.refunded_seconds`,
    )
  ).map((r) => ({
    id: String(r.id),
    totalSeconds: num(r.total_seconds),
    remainingSeconds: num(r.remaining_seconds),
    allocated: num(r.allocated),
    refunded: num(r.refunded),
  }));
  const cycles = (
    await all(
      `SELECT c.account_id, c.cycle_start_ms, c.plan_used_seconds, c.extra_used_seconds,
         c.overage_seconds,
         (SELECT COALESCE(SUM(u.from_plan_seconds), 0) FROM usages u
           WHERE u.account_id = c.account_id AND u.cycle_start_ms = c.cycle_start_ms) AS sum_plan,
         (SELECT COALESCE(SUM(u.overage_seconds), 0) FROM usages u
           WHERE u.account_id = c.account_id AND u.cycle_start_ms = c.cycle_start_ms) AS sum_overage,
         (SELECT COALESCE(SUM(a.seconds), 0) FROM usage_allocations a JOIN usages u
           ON u.account_id = a.account_id AND u.call_id = a.call_id
           WHERE u.account_id = c.account_id AND u.cycle_start_ms = c.cycle_start_ms) AS sum_extra
       FROM cycles c`,
    )
  ).map((r) => ({
    accountId: String(r.account_id),
    cycleStartMs: num(r.cycle_start_ms),
    planUsedSeconds: num(r.plan_used_seconds),
    sumFromPlan: num(r.sum_plan),
    extraUsedSeconds: num(r.extra_used_seconds),
    sumFromExtra: num(r.sum_extra),
    overageSeconds: num(r.overage_seconds),
    sumOverage: num(r.sum_overage),
  }));
  const usages = (
    await all(
      `SELECT u.call_id, u.seconds, u.from_plan_seconds, u.overage_seconds,
         (SELECT COALESCE(SUM(a.seconds), 0) FROM usage_allocations a
           WHERE a.account_id = u.account_id AND a.call_id = u.call_id) AS from_extra
       FROM usages u`,
    )
  ).map((r) => ({
    callId: String(r.call_id),
    seconds: num(r.seconds),
    fromPlan: num(r.from_plan_seconds),
    fromExtra: num(r.from_extra),
    overage: num(r.overage_seconds),
  }));
  return { accounts, purchases, cycles, usages };
}

/** The values of a cycle-counter delta, in the column order of the stores' `addToCycle`. */
export function cycleDeltaValues(d: Partial<CycleCounters>): number[] {
  return COUNTER_NAMES.map((name) => d[name] ?? 0);
}
