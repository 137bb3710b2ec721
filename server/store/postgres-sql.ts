/**
 * The hot statements, as named (prepared once per connection) queries. Each
 * transaction of the ledger locks its account row first (`accountForUpdate`),
 * so the writes of one account are serialised across every process sharing
 * the database while different accounts proceed in parallel.
 */
/** Usage between two versions of an account, each with its allocations `[[purchaseId, seconds], …]`. */
const USAGE_PAGE = `SELECT u.account_id, u.call_id, u.seconds, u.occurred_at_ms,
    u.cycle_start_ms, u.from_plan_seconds, u.overage_seconds, u.version, COALESCE(
    (SELECT json_agg(json_build_array(a.purchase_id, a.seconds) ORDER BY a.ord)
     FROM usage_allocations a WHERE a.account_id = u.account_id AND a.call_id = u.call_id),
    '[]'::json) AS allocations
  FROM usages u WHERE u.account_id = $1 AND u.version > $2 AND u.version < $3`;

/** Adds to one cycle's counters, creating them first: the parameters of the account, start and deltas. */
function addToCycle(account: string, start: string, deltas: string): string {
  return `INSERT INTO cycles (account_id, cycle_start_ms, plan_used_seconds,
      extra_used_seconds, overage_seconds, topup_count, topup_spend_minor)
    VALUES (${account}, ${start}, ${deltas})
    ON CONFLICT (account_id, cycle_start_ms) DO UPDATE SET
      plan_used_seconds = cycles.plan_used_seconds + EXCLUDED.plan_used_seconds,
      extra_used_seconds = cycles.extra_used_seconds + EXCLUDED.extra_used_seconds,
      overage_seconds = cycles.overage_seconds + EXCLUDED.overage_seconds,
      topup_count = cycles.topup_count + EXCLUDED.topup_count,
      topup_spend_minor = cycles.topup_spend_minor + EXCLUDED.topup_spend_minor`;
}

const ACCOUNT_COLUMNS = `id, plan_id, cycle_anchor_ms, created_at_ms, extra_remaining_seconds,
    active_packages, stripe_customer_id, version, warning, auto_topup_below_seconds`;

export const SQL = {
  account: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`,
  accountForUpdate: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE`,
  /** The trigger of migration 5 announces the new version when the transaction commits. */
  changeBalance: `UPDATE accounts SET extra_remaining_seconds = extra_remaining_seconds + $2,
    active_packages = active_packages + $3, version = version + 1
    WHERE id = $1 RETURNING version`,
  insertAccount: `INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms,
    stripe_customer_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
  /** Keeps the account's Stripe customer. */
  updateAccount: 'UPDATE accounts SET plan_id = $2, cycle_anchor_ms = $3 WHERE id = $1',
  /** Links (or, with NULL, unlinks) the account's Stripe customer too. */
  updateAccountCustomer: `UPDATE accounts SET plan_id = $2, cycle_anchor_ms = $3,
    stripe_customer_id = $4 WHERE id = $1`,
  getCycle: `SELECT plan_used_seconds, extra_used_seconds, overage_seconds, topup_count,
    topup_spend_minor FROM cycles WHERE account_id = $1 AND cycle_start_ms = $2`,
  addToCycle: addToCycle('$1', '$2', '$3, $4, $5, $6, $7'),
  activePurchases: `SELECT id, remaining_seconds FROM purchases
    WHERE account_id = $1 AND status = 'active' ORDER BY seq`,
  draw: `UPDATE purchases SET remaining_seconds = remaining_seconds - $2,
      status = CASE WHEN remaining_seconds - $2 = 0 THEN 'used' ELSE 'active' END
    WHERE id = $1 RETURNING status`,
  insertPurchase: `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor,
      currency, purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref,
      idempotency_key, refunded_seconds, kind, reason, refund_minor, refunded_at_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
  listPurchases: 'SELECT * FROM purchases WHERE account_id = $1 ORDER BY seq DESC',
  purchaseByKey: 'SELECT * FROM purchases WHERE account_id = $1 AND idempotency_key = $2',
  /** The oldest pending intent charged by the payment (references are not UNIQUE). */
  intentByPaymentRef: `SELECT * FROM purchase_intents WHERE payment_ref = $1 AND status = 'pending'
    ORDER BY created_at_ms LIMIT 1`,
  /** The first purchase credited for the payment (references are not UNIQUE). */
  purchaseByPaymentRef: 'SELECT * FROM purchases WHERE payment_ref = $1 ORDER BY seq LIMIT 1',
  getPurchase: 'SELECT * FROM purchases WHERE account_id = $1 AND id = $2',
  purchasesByIds: 'SELECT * FROM purchases WHERE account_id = $1 AND id = ANY($2::text[])',
  markRefunded: `UPDATE purchases SET remaining_seconds = 0, status = 'used',
    refunded_seconds = $2, refund_minor = $3, refunded_at_ms = $4 WHERE id = $1`,
  restoreRefunded: `UPDATE purchases SET remaining_seconds = refunded_seconds,
    status = CASE WHEN refunded_seconds > 0 THEN 'active' ELSE 'used' END,
    refunded_seconds = NULL, refund_minor = NULL, refunded_at_ms = NULL
    WHERE id = $1 AND refunded_seconds IS NOT NULL`,
  /** A page of usage with its allocations (in allocation order), newest first. */
  usageNewestFirst: `${USAGE_PAGE} ORDER BY u.version DESC LIMIT $4`,
  usageOldestFirst: `${USAGE_PAGE} ORDER BY u.version LIMIT $4`,
  /** The usage and its allocations (in allocation order) in one round trip. */
  findUsage: `SELECT u.*, COALESCE(
      (SELECT json_agg(json_build_array(a.purchase_id, a.seconds) ORDER BY a.ord)
       FROM usage_allocations a WHERE a.account_id = u.account_id AND a.call_id = u.call_id),
      '[]'::json) AS allocations
    FROM usages u WHERE u.account_id = $1 AND u.call_id = $2`,
  /**
   * A usage call's reads after its account's lock (pipelined with it and
   * BEGIN: one round trip): the earlier usage under the call id with its
   * allocations, the counters of the cycles starting in two windows, the
   * active purchases oldest first.
   */
  usageReads: `SELECT
    (SELECT row_to_json(e) FROM (SELECT u.*, COALESCE(
        (SELECT json_agg(json_build_array(a.purchase_id, a.seconds) ORDER BY a.ord)
         FROM usage_allocations a WHERE a.account_id = u.account_id AND a.call_id = u.call_id),
        '[]'::json) AS allocations
      FROM usages u WHERE u.account_id = $1 AND u.call_id = $2) e) AS earlier,
    (SELECT COALESCE(json_agg(json_build_array(c.cycle_start_ms, c.plan_used_seconds,
        c.extra_used_seconds, c.overage_seconds, c.topup_count, c.topup_spend_minor)), '[]'::json)
      FROM cycles c WHERE c.account_id = $1
        AND (c.cycle_start_ms BETWEEN $3 AND $4 OR c.cycle_start_ms BETWEEN $5 AND $6)) AS cycles,
    (SELECT COALESCE(json_agg(json_build_array(p.id, p.remaining_seconds) ORDER BY p.seq), '[]'::json)
      FROM purchases p WHERE p.account_id = $1 AND p.status = 'active') AS active`,
  /**
   * A purchase's reads after its account's lock (pipelined with it and
   * BEGIN: one round trip): the intent under the key ($2), the purchase it
   * created, the auto top-up settings and the counters of the cycles
   * starting between $3 and $4.
   */
  purchaseReads: `SELECT
    (SELECT row_to_json(i) FROM purchase_intents i
      WHERE i.account_id = $1 AND i.idempotency_key = $2) AS intent,
    (SELECT row_to_json(p) FROM purchases p
      WHERE p.account_id = $1 AND p.idempotency_key = $2) AS purchase,
    (SELECT row_to_json(t) FROM auto_topups t WHERE t.account_id = $1) AS auto_topup,
    (SELECT COALESCE(json_agg(json_build_array(c.cycle_start_ms, c.plan_used_seconds,
        c.extra_used_seconds, c.overage_seconds, c.topup_count, c.topup_spend_minor)), '[]'::json)
      FROM cycles c WHERE c.account_id = $1 AND c.cycle_start_ms BETWEEN $3 AND $4) AS cycles`,
  /**
   * A usage call's writes in one statement: the packages drawn ($2 ids, $3
   * seconds), the account's counters and version, the cycle's counters, the
   * usage and its allocations. Answers the version made and how many
   * packages were drawn.
   */
  writeUsage: `WITH d AS (
      UPDATE purchases p SET remaining_seconds = p.remaining_seconds - x.s,
        status = CASE WHEN p.remaining_seconds - x.s = 0 THEN 'used' ELSE 'active' END
      FROM unnest($2::text[], $3::bigint[]) AS x (id, s)
      WHERE p.id = x.id AND p.account_id = $1 AND p.status = 'active'
      RETURNING p.id, p.status),
    a AS (
      UPDATE accounts SET extra_remaining_seconds = extra_remaining_seconds + $4,
        active_packages = active_packages + $5, version = version + 1
      WHERE id = $1 RETURNING version),
    c AS (${addToCycle('$1', '$6', '$7, $8, $9, $10, $11')}),
    u AS (
      INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
        from_plan_seconds, overage_seconds, response, version)
      SELECT $1, $12, $13, $14, $6, $15, $16, $17, a.version FROM a
      RETURNING account_id, call_id),
    al AS (
      INSERT INTO usage_allocations (account_id, call_id, purchase_id, seconds, ord)
      SELECT u.account_id, u.call_id, x.id, x.s, x.ord
      FROM u, unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS x (id, s, ord))
    SELECT (SELECT version FROM a) AS version,
      (SELECT count(*) FROM d) AS drawn,
      (SELECT count(*) FROM d WHERE d.status = 'used') AS used_up`,
  /** The usage row and all of its allocation rows in one statement. */
  insertUsage: `WITH u AS (
      INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
        from_plan_seconds, overage_seconds, response, version)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11)
      RETURNING account_id, call_id
    )
    INSERT INTO usage_allocations (account_id, call_id, purchase_id, seconds, ord)
    SELECT u.account_id, u.call_id, a.purchase_id, a.seconds, a.ord
    FROM u, unnest($9::text[], $10::bigint[]) WITH ORDINALITY AS a (purchase_id, seconds, ord)`,
  findIntent: 'SELECT * FROM purchase_intents WHERE account_id = $1 AND idempotency_key = $2',
  insertIntent: `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status,
    response, created_at_ms, package_name, minutes, price_minor, currency, attempt, purchase_id,
    payment_ref, payment_state, customer_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
  updateIntentPayment: `UPDATE purchase_intents SET attempt = $3, purchase_id = $4,
    payment_ref = $5, payment_state = $6, customer_id = $7
    WHERE account_id = $1 AND idempotency_key = $2`,
  /** Newest first; the key in byte order (as SQLite's and the memory store's) breaks ties. */
  awaitingIntents: `SELECT * FROM purchase_intents
    WHERE account_id = $1 AND status = 'pending' AND payment_state IS NOT NULL
    ORDER BY created_at_ms DESC, idempotency_key COLLATE "C" DESC`,
  deleteIntent: `DELETE FROM purchase_intents
    WHERE account_id = $1 AND idempotency_key = $2 AND status = 'pending'`,
  completeIntent: `UPDATE purchase_intents SET status = 'completed', response = $3
    WHERE account_id = $1 AND idempotency_key = $2`,
  pendingIntents: "SELECT * FROM purchase_intents WHERE status = 'pending' ORDER BY created_at_ms",
  recordPaymentEvent: `INSERT INTO payment_events (id, type, received_at_ms) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO NOTHING`,
  setWarning: 'UPDATE accounts SET warning = $2 WHERE id = $1',
  getAutoTopup: 'SELECT * FROM auto_topups WHERE account_id = $1',
  /** The settings and the account's trigger (\`autoTopupBelowSeconds\`, $13) in one statement. */
  putAutoTopup: `WITH t AS (
      INSERT INTO auto_topups (account_id, enabled, threshold_minutes, package_id,
        monthly_limit, status, paused_reason, cycle_start_ms, cycle_count, sequence,
        pending_key, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
      ON CONFLICT (account_id) DO UPDATE SET enabled = EXCLUDED.enabled,
        threshold_minutes = EXCLUDED.threshold_minutes, package_id = EXCLUDED.package_id,
        monthly_limit = EXCLUDED.monthly_limit, status = EXCLUDED.status,
        paused_reason = EXCLUDED.paused_reason, cycle_start_ms = EXCLUDED.cycle_start_ms,
        cycle_count = EXCLUDED.cycle_count, sequence = EXCLUDED.sequence,
        pending_key = EXCLUDED.pending_key, updated_at_ms = EXCLUDED.updated_at_ms
      RETURNING account_id)
    UPDATE accounts SET auto_topup_below_seconds = $13 FROM t WHERE accounts.id = t.account_id`,
  insertWebhook: `INSERT INTO webhook_outbox (id, account_id, type, body, status, attempts,
    created_at_ms, next_attempt_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  /**
   * Of each account only its oldest undelivered webhook, and only one no
   * other process holds: a row another claim has locked is skipped, and the
   * later rows of its account wait behind it (NOT EXISTS still sees it).
   */
  claimWebhooks: `WITH picked AS (
      SELECT o.seq FROM webhook_outbox o
      WHERE o.status = 'pending' AND o.next_attempt_at_ms <= $1 AND o.lease_until_ms <= $1
        AND NOT EXISTS (SELECT 1 FROM webhook_outbox e
          WHERE e.account_id = o.account_id AND e.status = 'pending' AND e.seq < o.seq)
      ORDER BY o.seq LIMIT $3 FOR UPDATE SKIP LOCKED)
    UPDATE webhook_outbox w SET lease_until_ms = $2 FROM picked WHERE w.seq = picked.seq
    RETURNING w.*`,
  finishWebhook: `UPDATE webhook_outbox SET status = $2, attempts = $3, next_attempt_at_ms = $4,
    delivered_at_ms = $5, last_error = $6, lease_until_ms = 0 WHERE id = $1 AND lease_until_ms = $7`,
  listWebhooks: 'SELECT * FROM webhook_outbox WHERE status = $1 ORDER BY seq DESC LIMIT $2',
  pruneWebhooks: `DELETE FROM webhook_outbox WHERE (status = 'delivered' AND created_at_ms < $1)
    OR (status = 'failed' AND created_at_ms < $2)`,
  listAllWebhooks: 'SELECT * FROM webhook_outbox ORDER BY seq DESC LIMIT $1',
} as const;

export type StatementName = keyof typeof SQL;
