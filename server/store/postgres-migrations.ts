/**
 * PostgreSQL schema, one entry per version; applied in order at start-up, each
 * exactly once (recorded in `schema_migrations`, under an advisory lock so
 * that several processes starting together migrate once). Never edit a
 * shipped entry: add a new one.
 *
 * It mirrors `sqlite-migrations.ts`: the same tables, CHECK and UNIQUE
 * constraints and partial indexes. Epoch-ms times, seconds and minor amounts
 * are BIGINT (node-postgres returns them as strings; `rows.ts` converts).
 * One addition: `usage_allocations.ord` keeps the order of a usage's
 * allocations, which SQLite reads from its rowid and Postgres has no
 * equivalent of.
 */
export const postgresMigrations: readonly string[] = [
  `
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    cycle_anchor_ms BIGINT NOT NULL,
    extra_remaining_seconds BIGINT NOT NULL DEFAULT 0 CHECK (extra_remaining_seconds >= 0),
    active_packages INTEGER NOT NULL DEFAULT 0 CHECK (active_packages >= 0)
  );
  CREATE TABLE purchases (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    package_id TEXT NOT NULL,
    name TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    purchased_at_ms BIGINT NOT NULL,
    total_seconds BIGINT NOT NULL CHECK (total_seconds > 0),
    remaining_seconds BIGINT NOT NULL
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
    cycle_start_ms BIGINT NOT NULL,
    plan_used_seconds BIGINT NOT NULL DEFAULT 0 CHECK (plan_used_seconds >= 0),
    extra_used_seconds BIGINT NOT NULL DEFAULT 0 CHECK (extra_used_seconds >= 0),
    overage_seconds BIGINT NOT NULL DEFAULT 0 CHECK (overage_seconds >= 0),
    topup_count INTEGER NOT NULL DEFAULT 0,
    topup_spend_minor BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, cycle_start_ms)
  );
  CREATE TABLE usages (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    call_id TEXT NOT NULL,
    seconds BIGINT NOT NULL CHECK (seconds >= 0),
    occurred_at_ms BIGINT NOT NULL,
    cycle_start_ms BIGINT NOT NULL,
    from_plan_seconds BIGINT NOT NULL CHECK (from_plan_seconds >= 0),
    overage_seconds BIGINT NOT NULL CHECK (overage_seconds >= 0),
    response TEXT NOT NULL,
    PRIMARY KEY (account_id, call_id)
  );
  CREATE INDEX usages_by_cycle ON usages (account_id, cycle_start_ms);
  CREATE TABLE usage_allocations (
    account_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    purchase_id TEXT NOT NULL REFERENCES purchases (id),
    seconds BIGINT NOT NULL CHECK (seconds > 0),
    ord INTEGER NOT NULL,
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
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
  );
  CREATE INDEX purchase_intents_pending ON purchase_intents (created_at_ms)
    WHERE status = 'pending';
  `,
  // 2: when each account was created, as in \`sqlite-migrations.ts\` (existing
  // accounts: the earliest of their anchor, first purchase or purchase
  // attempt, earliest usage, and now; LEAST skips the NULLs of accounts
  // without any). The DEFAULT serves processes of the earlier version during
  // a rolling deploy, whose INSERT names no created_at_ms: such an account is
  // created at the database's now.
  `
  ALTER TABLE accounts ADD COLUMN created_at_ms BIGINT;
  UPDATE accounts a SET created_at_ms = LEAST(
    a.cycle_anchor_ms,
    (SELECT MIN(p.purchased_at_ms) FROM purchases p WHERE p.account_id = a.id),
    (SELECT MIN(i.created_at_ms) FROM purchase_intents i WHERE i.account_id = a.id),
    (SELECT MIN(u.occurred_at_ms) FROM usages u WHERE u.account_id = a.id),
    (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint
  );
  ALTER TABLE accounts ALTER COLUMN created_at_ms SET NOT NULL;
  ALTER TABLE accounts ALTER COLUMN created_at_ms
    SET DEFAULT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint;
  `,
  // 3: what a purchase intent charges for, as in \`sqlite-migrations.ts\`
  // (NULL on intents recorded before: they fall back to the catalog).
  `
  ALTER TABLE purchase_intents ADD COLUMN package_name TEXT;
  ALTER TABLE purchase_intents ADD COLUMN minutes INTEGER;
  ALTER TABLE purchase_intents ADD COLUMN price_minor BIGINT;
  ALTER TABLE purchase_intents ADD COLUMN currency TEXT;
  `,
  // 4: card payments, as in \`sqlite-migrations.ts\` (the customer of an
  // account, the refunded seconds of a purchase, the payment of an intent,
  // the processor's events applied; NULLs and an empty attempt on rows
  // written before and by processes of the earlier version). The CHECK of
  // \`purchases.status\` stays as SQLite's must: a refunded purchase is
  // \`used\` with \`refunded_seconds\` set.
  `
  ALTER TABLE accounts ADD COLUMN stripe_customer_id TEXT;
  ALTER TABLE purchases ADD COLUMN refunded_seconds BIGINT CHECK (refunded_seconds >= 0);
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
    received_at_ms BIGINT NOT NULL
  );
  `,
  // 5: the ledger version of each account, as in \`sqlite-migrations.ts\`;
  // and its NOTIFY: every change of a version is announced on the channel
  // \`minute_topup_balance\` (payload \`{"a": id, "v": version}\`) when its
  // transaction commits, so the live streams held by every process follow
  // changes made by any of them.
  `
  ALTER TABLE accounts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
  CREATE FUNCTION minute_topup_notify_version() RETURNS trigger AS $$
  BEGIN
    PERFORM pg_notify('minute_topup_balance', json_build_object('a', NEW.id, 'v', NEW.version)::text);
    RETURN NEW;
  END
  $$ LANGUAGE plpgsql;
  CREATE TRIGGER accounts_version_notify AFTER UPDATE OF version ON accounts
    FOR EACH ROW WHEN (NEW.version <> OLD.version)
    EXECUTE FUNCTION minute_topup_notify_version();
  `,
  // 6: the customer an intent's attempt charges (Stripe: \`cus_…\`), so that
  // a retry or the recovery finds its charge even after the account was
  // linked to another customer. NULL on intents recorded before.
  `
  ALTER TABLE purchase_intents ADD COLUMN customer_id TEXT;
  `,
  // 7: operators, as in \`sqlite-migrations.ts\` (a purchase's kind, the
  // reason of a grant, the money and time of a refund, the ledger version of
  // each usage — negative on usage recorded before, in the order of its time).
  `
  ALTER TABLE purchases ADD COLUMN kind TEXT NOT NULL DEFAULT 'package'
    CHECK (kind IN ('package', 'grant'));
  ALTER TABLE purchases ADD COLUMN reason TEXT;
  ALTER TABLE purchases ADD COLUMN refund_minor BIGINT CHECK (refund_minor >= 0);
  ALTER TABLE purchases ADD COLUMN refunded_at_ms BIGINT;
  ALTER TABLE usages ADD COLUMN version BIGINT;
  UPDATE usages SET version = v.n FROM (
    SELECT account_id, call_id,
      ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY occurred_at_ms, call_id)
        - COUNT(*) OVER (PARTITION BY account_id) - 1 AS n
    FROM usages
  ) AS v WHERE usages.account_id = v.account_id AND usages.call_id = v.call_id;
  CREATE UNIQUE INDEX usages_by_version ON usages (account_id, version);
  `,
  // 8: auto top-up and the webhook outbox, as in \`sqlite-migrations.ts\`.
  `
  ALTER TABLE accounts ADD COLUMN warning TEXT
    CHECK (warning IS NULL OR warning IN ('none', 'low', 'exhausted', 'empty'));
  ALTER TABLE accounts ADD COLUMN auto_topup_below_seconds BIGINT;
  CREATE TABLE auto_topups (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    enabled BOOLEAN NOT NULL,
    threshold_minutes INTEGER NOT NULL CHECK (threshold_minutes > 0),
    package_id TEXT NOT NULL,
    monthly_limit INTEGER NOT NULL CHECK (monthly_limit BETWEEN 1 AND 31),
    status TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    paused_reason TEXT,
    cycle_start_ms BIGINT NOT NULL,
    cycle_count INTEGER NOT NULL CHECK (cycle_count >= 0),
    sequence INTEGER NOT NULL CHECK (sequence >= 0),
    pending_key TEXT,
    updated_at_ms BIGINT NOT NULL
  );
  CREATE TABLE webhook_outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    delivered_at_ms BIGINT,
    last_error TEXT
  );
  CREATE INDEX webhook_outbox_pending ON webhook_outbox (account_id, seq) WHERE status = 'pending';
  CREATE INDEX webhook_outbox_by_status ON webhook_outbox (status, seq);
  `,
];
