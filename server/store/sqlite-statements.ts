import type Database from 'better-sqlite3';

/** Usage between two versions of an account (its allocations are read apart). */
const USAGE_PAGE = `SELECT account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
    from_plan_seconds, overage_seconds, version FROM usages
  WHERE account_id = ? AND version > ? AND version < ?`;

/** The statements of the SQLite store, prepared once per database. */
export function prepareStatements(db: Database.Database) {
  return {
    getAccount: db.prepare('SELECT * FROM accounts WHERE id = ?'),
    insertAccount: db.prepare(
      `INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms, stripe_customer_id)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    /** Keeps the account's Stripe customer. */
    updateAccount: db.prepare('UPDATE accounts SET plan_id = ?, cycle_anchor_ms = ? WHERE id = ?'),
    /** Links (or, with NULL, unlinks) the account's Stripe customer too. */
    updateAccountCustomer: db.prepare(
      `UPDATE accounts SET plan_id = ?, cycle_anchor_ms = ?, stripe_customer_id = ?
       WHERE id = ?`,
    ),
    changeBalance: db.prepare(
      `UPDATE accounts SET extra_remaining_seconds = extra_remaining_seconds + ?,
       active_packages = active_packages + ?, version = version + 1
       WHERE id = ? RETURNING version`,
    ),
    getCycle: db.prepare('SELECT * FROM cycles WHERE account_id = ? AND cycle_start_ms = ?'),
    /** Cycles starting in either of two `[from, to]` windows (the same one twice for one). */
    cyclesWithin: db.prepare(
      `SELECT * FROM cycles WHERE account_id = ?
         AND (cycle_start_ms BETWEEN ? AND ? OR cycle_start_ms BETWEEN ? AND ?)`,
    ),
    addToCycle: db.prepare(
      `INSERT INTO cycles (account_id, cycle_start_ms, plan_used_seconds, extra_used_seconds,
         overage_seconds, topup_count, topup_spend_minor) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id, cycle_start_ms) DO UPDATE SET
         plan_used_seconds = plan_used_seconds + excluded.plan_used_seconds,
         extra_used_seconds = extra_used_seconds + excluded.extra_used_seconds,
         overage_seconds = overage_seconds + excluded.overage_seconds,
         topup_count = topup_count + excluded.topup_count,
         topup_spend_minor = topup_spend_minor + excluded.topup_spend_minor`,
    ),
    activePurchases: db.prepare(
      `SELECT id, remaining_seconds FROM purchases
       WHERE account_id = ? AND status = 'active' ORDER BY seq`,
    ),
    draw: db.prepare(
      `UPDATE purchases SET remaining_seconds = remaining_seconds - ?,
         status = CASE WHEN remaining_seconds - ? = 0 THEN 'used' ELSE 'active' END
       WHERE id = ? RETURNING status`,
    ),
    insertPurchase: db.prepare(
      `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor, currency,
         purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref, idempotency_key,
         refunded_seconds, kind, reason, refund_minor, refunded_at_ms)
       VALUES (@id, @accountId, @packageId, @name, @minutes, @priceMinor, @currency,
         @purchasedAtMs, @totalSeconds, @remainingSeconds, @status, @paymentRef, @idempotencyKey,
         @refundedSeconds, @kind, @reason, @refundMinor, @refundedAtMs)`,
    ),
    listPurchases: db.prepare('SELECT * FROM purchases WHERE account_id = ? ORDER BY seq DESC'),
    purchaseByKey: db.prepare(
      'SELECT * FROM purchases WHERE account_id = ? AND idempotency_key = ?',
    ),
    /** The oldest pending intent charged by the payment (references are not UNIQUE). */
    intentByPaymentRef: db.prepare(
      `SELECT * FROM purchase_intents WHERE payment_ref = ? AND status = 'pending'
       ORDER BY created_at_ms LIMIT 1`,
    ),
    /** The first purchase credited for the payment (references are not UNIQUE). */
    purchaseByPaymentRef: db.prepare(
      'SELECT * FROM purchases WHERE payment_ref = ? ORDER BY seq LIMIT 1',
    ),
    getPurchase: db.prepare('SELECT * FROM purchases WHERE account_id = ? AND id = ?'),
    /** `?` 2 is a JSON array of ids. */
    purchasesByIds: db.prepare(
      'SELECT * FROM purchases WHERE account_id = ? AND id IN (SELECT value FROM json_each(?))',
    ),
    markRefunded: db.prepare(
      `UPDATE purchases SET remaining_seconds = 0, status = 'used', refunded_seconds = ?,
         refund_minor = ?, refunded_at_ms = ?
       WHERE id = ?`,
    ),
    restoreRefunded: db.prepare(
      `UPDATE purchases SET remaining_seconds = refunded_seconds,
         status = CASE WHEN refunded_seconds > 0 THEN 'active' ELSE 'used' END,
         refunded_seconds = NULL, refund_minor = NULL, refunded_at_ms = NULL
       WHERE id = ? AND refunded_seconds IS NOT NULL`,
    ),
    usageNewestFirst: db.prepare(`${USAGE_PAGE} ORDER BY version DESC LIMIT ?`),
    usageOldestFirst: db.prepare(`${USAGE_PAGE} ORDER BY version LIMIT ?`),
    /** The allocations of the calls named in `?` 2 (a JSON array), in allocation order. */
    allocationsOfCalls: db.prepare(
      `SELECT call_id, purchase_id, seconds FROM usage_allocations
       WHERE account_id = ? AND call_id IN (SELECT value FROM json_each(?)) ORDER BY rowid`,
    ),
    findUsage: db.prepare('SELECT * FROM usages WHERE account_id = ? AND call_id = ?'),
    insertUsage: db.prepare(
      `INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
         from_plan_seconds, overage_seconds, response, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertAllocation: db.prepare(
      `INSERT INTO usage_allocations (account_id, call_id, purchase_id, seconds)
       VALUES (?, ?, ?, ?)`,
    ),
    allocationsOf: db.prepare(
      `SELECT purchase_id, seconds FROM usage_allocations
       WHERE account_id = ? AND call_id = ? ORDER BY rowid`,
    ),
    findIntent: db.prepare(
      'SELECT * FROM purchase_intents WHERE account_id = ? AND idempotency_key = ?',
    ),
    insertIntent: db.prepare(
      `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status, response,
         created_at_ms, package_name, minutes, price_minor, currency, attempt, purchase_id,
         payment_ref, payment_state, customer_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateIntentPayment: db.prepare(
      `UPDATE purchase_intents SET attempt = ?, purchase_id = ?, payment_ref = ?, payment_state = ?,
         customer_id = ? WHERE account_id = ? AND idempotency_key = ?`,
    ),
    /** Newest first; the key (in byte order) breaks ties, as in the other stores. */
    awaitingIntents: db.prepare(
      `SELECT * FROM purchase_intents
       WHERE account_id = ? AND status = 'pending' AND payment_state IS NOT NULL
       ORDER BY created_at_ms DESC, idempotency_key DESC`,
    ),
    deleteIntent: db.prepare(
      `DELETE FROM purchase_intents
       WHERE account_id = ? AND idempotency_key = ? AND status = 'pending'`,
    ),
    completeIntent: db.prepare(
      `UPDATE purchase_intents SET status = 'completed', response = ?
       WHERE account_id = ? AND idempotency_key = ?`,
    ),
    pendingIntents: db.prepare(
      "SELECT * FROM purchase_intents WHERE status = 'pending' ORDER BY created_at_ms",
    ),
    recordPaymentEvent: db.prepare(
      `INSERT INTO payment_events (id, type, received_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    setWarning: db.prepare('UPDATE accounts SET warning = ? WHERE id = ?'),
    getAutoTopup: db.prepare('SELECT * FROM auto_topups WHERE account_id = ?'),
    putAutoTopup: db.prepare(
      `INSERT INTO auto_topups (account_id, enabled, threshold_minutes, package_id,
         monthly_limit, status, paused_reason, cycle_start_ms, cycle_count, sequence,
         pending_key, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled,
         threshold_minutes = excluded.threshold_minutes, package_id = excluded.package_id,
         monthly_limit = excluded.monthly_limit, status = excluded.status,
         paused_reason = excluded.paused_reason, cycle_start_ms = excluded.cycle_start_ms,
         cycle_count = excluded.cycle_count, sequence = excluded.sequence,
         pending_key = excluded.pending_key, updated_at_ms = excluded.updated_at_ms`,
    ),
    setAutoTopupTrigger: db.prepare(
      'UPDATE accounts SET auto_topup_below_seconds = ? WHERE id = ?',
    ),
    insertWebhook: db.prepare(
      `INSERT INTO webhook_outbox (id, account_id, type, body, status, attempts,
         created_at_ms, next_attempt_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    /** Of each account only its oldest undelivered webhook, unless another holds its lease. */
    claimWebhooks: db.prepare(
      `UPDATE webhook_outbox SET lease_until_ms = ? WHERE seq IN (
         SELECT o.seq FROM webhook_outbox o
         WHERE o.status = 'pending' AND o.next_attempt_at_ms <= ? AND o.lease_until_ms <= ?
           AND NOT EXISTS (SELECT 1 FROM webhook_outbox e
             WHERE e.account_id = o.account_id AND e.status = 'pending' AND e.seq < o.seq)
         ORDER BY o.seq LIMIT ?)
       RETURNING *`,
    ),
    finishWebhook: db.prepare(
      `UPDATE webhook_outbox SET status = ?, attempts = ?, next_attempt_at_ms = ?,
         delivered_at_ms = ?, last_error = ?, lease_until_ms = 0
       WHERE id = ? AND lease_until_ms = ?`,
    ),
    listWebhooks: db.prepare(
      'SELECT * FROM webhook_outbox WHERE status = ? ORDER BY seq DESC LIMIT ?',
    ),
    pruneWebhooks: db.prepare(
      `DELETE FROM webhook_outbox WHERE (status = 'delivered' AND created_at_ms < ?)
         OR (status = 'failed' AND created_at_ms < ?)`,
    ),
    listAllWebhooks: db.prepare('SELECT * FROM webhook_outbox ORDER BY seq DESC LIMIT ?'),
  };
}
