/**
 * SQLite schema, one entry per version; applied in order at start-up, each
 * exactly once (recorded in `schema_migrations`). Never edit a shipped entry:
 * add a new one.
 */
export const sqliteMigrations: readonly string[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    cycle_anchor_ms INTEGER NOT NULL,
    extra_remaining_seconds INTEGER NOT NULL DEFAULT 0 CHECK (extra_remaining_seconds >= 0),
    active_packages INTEGER NOT NULL DEFAULT 0 CHECK (active_packages >= 0)
  );
  CREATE TABLE purchases (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    package_id TEXT NOT NULL,
    name TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    purchased_at_ms INTEGER NOT NULL,
    total_seconds INTEGER NOT NULL CHECK (total_seconds > 0),
    remaining_seconds INTEGER NOT NULL
      CHECK (remaining_seconds >= 0 AND remaining_seconds <= total_seconds),
    status TEXT NOT NULL CHECK (status IN ('active', 'used')),
    payment_ref TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    UNIQUE (account_id, idempotency_key)
  );
  CREATE INDEX purchases_by_account ON purchases (account_id, seq);
  CREATE INDEX purchases_active ON purchases (account_id, seq) WHERE status = 'active';
  CREATE TABLE cycles (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    cycle_start_ms INTEGER NOT NULL,
    plan_used_seconds INTEGER NOT NULL DEFAULT 0 CHECK (plan_used_seconds >= 0),
    extra_used_seconds INTEGER NOT NULL DEFAULT 0 CHECK (extra_used_seconds >= 0),
    overage_seconds INTEGER NOT NULL DEFAULT 0 CHECK (overage_seconds >= 0),
    topup_count INTEGER NOT NULL DEFAULT 0,
    topup_spend_minor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, cycle_start_ms)
  ) WITHOUT ROWID;
  CREATE TABLE usages (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    call_id TEXT NOT NULL,
    seconds INTEGER NOT NULL CHECK (seconds >= 0),
    occurred_at_ms INTEGER NOT NULL,
    cycle_start_ms INTEGER NOT NULL,
    from_plan_seconds INTEGER NOT NULL CHECK (from_plan_seconds >= 0),
    overage_seconds INTEGER NOT NULL CHECK (overage_seconds >= 0),
    response TEXT NOT NULL,
    PRIMARY KEY (account_id, call_id)
  );
  CREATE INDEX usages_by_cycle ON usages (account_id, cycle_start_ms);
  CREATE TABLE usage_allocations (
    account_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    purchase_id TEXT NOT NULL REFERENCES purchases (id),
    seconds INTEGER NOT NULL CHECK (seconds > 0),
    PRIMARY KEY (account_id, call_id, purchase_id),
    FOREIGN KEY (account_id, call_id) REFERENCES usages (account_id, call_id)
  );
  CREATE INDEX usage_allocations_by_purchase ON usage_allocations (purchase_id);
  CREATE TABLE purchase_intents (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    idempotency_key TEXT NOT NULL,
    package_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'completed')),
    response TEXT,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
  );
  CREATE INDEX purchase_intents_pending ON purchase_intents (created_at_ms)
    WHERE status = 'pending';
  `,
  // 2: when each account was created (usage may not predate it). Accounts
  // that exist already get the earliest time the ledger knows them by: their
  // cycle anchor (the creation time unless a host set one), their first
  // purchase or purchase attempt (stamped by the server's clock), their
  // earliest usage, and never a time after this migration. Those are upper
  // bounds of the real creation; the earliest usage (its occurredAt, which
  // the client supplied and the earlier version accepted) keeps every usage
  // dated like one already recorded acceptable. A row written without the
  // column (a process of the earlier version) gets 0: no lower bound.
  `
  ALTER TABLE accounts ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
  UPDATE accounts SET created_at_ms = MIN(
    cycle_anchor_ms,
    COALESCE(
      (SELECT MIN(p.purchased_at_ms) FROM purchases p WHERE p.account_id = accounts.id),
      cycle_anchor_ms
    ),
    COALESCE(
      (SELECT MIN(i.created_at_ms) FROM purchase_intents i WHERE i.account_id = accounts.id),
      cycle_anchor_ms
    ),
    COALESCE(
      (SELECT MIN(u.occurred_at_ms) FROM usages u WHERE u.account_id = accounts.id),
      cycle_anchor_ms
    ),
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  );
  `,
  // 3: what a purchase intent charges for — the package's name, minutes,
  // price and currency when the intent was recorded — so that a retry or the
  // start-up recovery charges and credits that, not the catalog of the day.
  // Intents recorded before (and by processes of the earlier version) have
  // NULLs and fall back to the catalog.
  `
  ALTER TABLE purchase_intents ADD COLUMN package_name TEXT;
  ALTER TABLE purchase_intents ADD COLUMN minutes INTEGER;
  ALTER TABLE purchase_intents ADD COLUMN price_minor INTEGER;
  ALTER TABLE purchase_intents ADD COLUMN currency TEXT;
  `,
  // 4: card payments (Stripe). An account may be linked to a customer, whose
  // default payment method pays. A purchase may be refunded: SQLite cannot
  // change the CHECK on status, so a refunded purchase stays 'used' (its
  // remaining seconds voided) and refunded_seconds says how many. An
  // intent keeps the attempt its charge is made under, the purchase id
  // announced before crediting, the processor's reference and where a
  // payment that is not through yet stands. The processor's events are
  // recorded once each (payment_events), to apply each exactly once;
  // purchases and intents are found by the reference the events carry. Rows
  // written before (and by processes of the earlier version) have NULLs and
  // an empty attempt.
  `
  ALTER TABLE accounts ADD COLUMN stripe_customer_id TEXT;
  ALTER TABLE purchases ADD COLUMN refunded_seconds INTEGER CHECK (refunded_seconds >= 0);
  CREATE INDEX purchases_by_payment_ref ON purchases (payment_ref);
  ALTER TABLE purchase_intents ADD COLUMN attempt TEXT NOT NULL DEFAULT '';
  ALTER TABLE purchase_intents ADD COLUMN purchase_id TEXT;
  ALTER TABLE purchase_intents ADD COLUMN payment_ref TEXT;
  ALTER TABLE purchase_intents ADD COLUMN payment_state TEXT
    CHECK (payment_state IS NULL OR payment_state IN ('requires_action', 'processing', 'failed'));
  CREATE INDEX purchase_intents_by_payment_ref ON purchase_intents (payment_ref);
  CREATE TABLE payment_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
  );
  `,
  // 5: the ledger version of each account, which grows with every change of
  // its balance (usage, purchase, refund, plan change) in the transaction of
  // the change; the live balance streams name their events by it. Accounts
  // that exist start at 0.
  `
  ALTER TABLE accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: the customer an intent's attempt charges (Stripe: \`cus_…\`), so that
  // a retry or the recovery finds its charge even after the account was
  // linked to another customer. NULL on intents recorded before.
  `
  ALTER TABLE purchase_intents ADD COLUMN customer_id TEXT;
  `,
  // 7: operators (DESIGN §11). A purchase is a package or a grant (free
  // minutes an operator gave, with the reason); a refund records the money
  // returned and when. Each usage keeps the ledger version it made (unique
  // per account, in the order the ledger recorded it): the usage history
  // pages over it, newest first, through its index. Usage recorded before
  // gets negative versions in the order of its time (as on PostgreSQL, which
  // keeps no order of insertion).
  `
  ALTER TABLE purchases ADD COLUMN kind TEXT NOT NULL DEFAULT 'package'
    CHECK (kind IN ('package', 'grant'));
  ALTER TABLE purchases ADD COLUMN reason TEXT;
  ALTER TABLE purchases ADD COLUMN refund_minor INTEGER CHECK (refund_minor >= 0);
  ALTER TABLE purchases ADD COLUMN refunded_at_ms INTEGER;
  ALTER TABLE usages ADD COLUMN version INTEGER;
  UPDATE usages SET version = v.n FROM (
    SELECT rowid AS r,
      ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY occurred_at_ms, call_id)
        - COUNT(*) OVER (PARTITION BY account_id) - 1 AS n
    FROM usages
  ) AS v WHERE usages.rowid = v.r;
  CREATE UNIQUE INDEX usages_by_version ON usages (account_id, version);
  `,
  // 8: auto top-up and webhooks to the host (DESIGN §10). Each account's
  // auto top-up settings and where they stand in the cycle; on the account,
  // the trigger's threshold while it is on (so a usage reads the settings
  // only when it may fire) and the warning level last announced. The
  // outbox: webhooks written in the transaction of their change, delivered
  // in \`seq\` order per account, leased by the process sending one.
  `
  ALTER TABLE accounts ADD COLUMN warning TEXT
    CHECK (warning IS NULL OR warning IN ('none', 'low', 'exhausted', 'empty'));
  ALTER TABLE accounts ADD COLUMN auto_topup_below_seconds INTEGER;
  CREATE TABLE auto_topups (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    threshold_minutes INTEGER NOT NULL CHECK (threshold_minutes > 0),
    package_id TEXT NOT NULL,
    monthly_limit INTEGER NOT NULL CHECK (monthly_limit BETWEEN 1 AND 31),
    status TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    paused_reason TEXT,
    cycle_start_ms INTEGER NOT NULL,
    cycle_count INTEGER NOT NULL CHECK (cycle_count >= 0),
    sequence INTEGER NOT NULL CHECK (sequence >= 0),
    pending_key TEXT,
    updated_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE webhook_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    delivered_at_ms INTEGER,
    last_error TEXT
  );
  CREATE INDEX webhook_outbox_pending ON webhook_outbox (account_id, seq) WHERE status = 'pending';
  CREATE INDEX webhook_outbox_by_status ON webhook_outbox (status, seq);
  `,
];
