import pg from 'pg';
import { STORE_DEFAULTS } from './options.js';
import { postgresMigrations } from './postgres-migrations.js';
import {
  accountFrom,
  chargedValues,
  countersFrom,
  cycleDeltaValues,
  intentFrom,
  num,
  purchaseFrom,
  sqlAudit,
  usageFrom,
  type Row,
} from './rows.js';
import type { LedgerAudit, LedgerStore, LedgerTx, TransactOptions, UsageRow } from './types.js';

export interface PostgresStoreOptions {
  /** Connections in the pool (`loadConfig`: `PGPOOL_MAX`). */
  poolMax?: number;
  /**
   * Send `BEGIN` in the same round trip as a transaction's first statement
   * (node-postgres pipeline mode). Default on (`loadConfig`: `PG_PIPELINE=0` turns it off).
   */
  pipeline?: boolean;
}

/** Key of the advisory lock that serialises migrators ("mtop"). */
const MIGRATION_LOCK_KEY = 0x6d746f70;

/**
 * The hot statements, as named (prepared once per connection) queries. Each
 * transaction of the ledger locks its account row first (`accountForUpdate`),
 * so the writes of one account are serialised across every process sharing
 * the database while different accounts proceed in parallel.
 */
const SQL = {
  account: `SELECT id, plan_id, cycle_anchor_ms, created_at_ms, extra_remaining_seconds,
    active_packages FROM accounts WHERE id = $1`,
  accountForUpdate: `SELECT id, plan_id, cycle_anchor_ms, created_at_ms, extra_remaining_seconds,
    active_packages FROM accounts WHERE id = $1 FOR UPDATE`,
  insertAccount: `INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms)
    VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
  updateAccount: 'UPDATE accounts SET plan_id = $2, cycle_anchor_ms = $3 WHERE id = $1',
  adjustExtra: `UPDATE accounts SET extra_remaining_seconds = extra_remaining_seconds + $2,
    active_packages = active_packages + $3 WHERE id = $1`,
  getCycle: `SELECT plan_used_seconds, extra_used_seconds, overage_seconds, topup_count,
    topup_spend_minor FROM cycles WHERE account_id = $1 AND cycle_start_ms = $2`,
  addToCycle: `INSERT INTO cycles (account_id, cycle_start_ms, plan_used_seconds,
      extra_used_seconds, overage_seconds, topup_count, topup_spend_minor)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (account_id, cycle_start_ms) DO UPDATE SET
      plan_used_seconds = cycles.plan_used_seconds + EXCLUDED.plan_used_seconds,
      extra_used_seconds = cycles.extra_used_seconds + EXCLUDED.extra_used_seconds,
      overage_seconds = cycles.overage_seconds + EXCLUDED.overage_seconds,
      topup_count = cycles.topup_count + EXCLUDED.topup_count,
      topup_spend_minor = cycles.topup_spend_minor + EXCLUDED.topup_spend_minor`,
  activePurchases: `SELECT id, remaining_seconds FROM purchases
    WHERE account_id = $1 AND status = 'active' ORDER BY seq`,
  draw: `UPDATE purchases SET remaining_seconds = remaining_seconds - $2,
      status = CASE WHEN remaining_seconds - $2 = 0 THEN 'used' ELSE 'active' END
    WHERE id = $1 RETURNING status`,
  insertPurchase: `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor,
      currency, purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref,
      idempotency_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
  listPurchases: 'SELECT * FROM purchases WHERE account_id = $1 ORDER BY seq DESC',
  purchaseByKey: 'SELECT * FROM purchases WHERE account_id = $1 AND idempotency_key = $2',
  /** The usage and its allocations (in allocation order) in one round trip. */
  findUsage: `SELECT u.*, COALESCE(
      (SELECT json_agg(json_build_array(a.purchase_id, a.seconds) ORDER BY a.ord)
       FROM usage_allocations a WHERE a.account_id = u.account_id AND a.call_id = u.call_id),
      '[]'::json) AS allocations
    FROM usages u WHERE u.account_id = $1 AND u.call_id = $2`,
  /** The usage row and all of its allocation rows in one statement. */
  insertUsage: `WITH u AS (
      INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
        from_plan_seconds, overage_seconds, response)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      RETURNING account_id, call_id
    )
    INSERT INTO usage_allocations (account_id, call_id, purchase_id, seconds, ord)
    SELECT u.account_id, u.call_id, a.purchase_id, a.seconds, a.ord
    FROM u, unnest($9::text[], $10::bigint[]) WITH ORDINALITY AS a (purchase_id, seconds, ord)`,
  findIntent: 'SELECT * FROM purchase_intents WHERE account_id = $1 AND idempotency_key = $2',
  insertIntent: `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status,
    response, created_at_ms, package_name, minutes, price_minor, currency)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  deleteIntent: `DELETE FROM purchase_intents
    WHERE account_id = $1 AND idempotency_key = $2 AND status = 'pending'`,
  completeIntent: `UPDATE purchase_intents SET status = 'completed', response = $3
    WHERE account_id = $1 AND idempotency_key = $2`,
  pendingIntents: "SELECT * FROM purchase_intents WHERE status = 'pending' ORDER BY created_at_ms",
} as const;

type Name = keyof typeof SQL;

/**
 * The ledger on PostgreSQL, shared by any number of API processes. Each
 * `transact` runs on one pooled connection under READ COMMITTED; the ledger
 * takes the account's row lock (`SELECT … FOR UPDATE`) as the first step of
 * every write, which serialises one account's operations without retries and
 * without deadlocks (one lock per transaction, so always in the same order).
 * UNIQUE constraints back the idempotency of usage call ids and purchase keys.
 */
export class PostgresStore implements LedgerStore {
  readonly kind = 'postgres' as const;
  private ending: Promise<void> | undefined;

  private constructor(
    readonly pool: pg.Pool,
    private readonly pipeline: boolean,
  ) {}

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pipeline = options.pipeline ?? STORE_DEFAULTS.postgresPipeline;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolMax ?? STORE_DEFAULTS.postgresPoolMax,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5_000,
      // A transaction never waits on anything but the database; one left idle
      // (a hung process) must not hold an account's lock for long.
      idle_in_transaction_session_timeout: 30_000,
      application_name: 'minute-topup',
      pipeline,
    });
    // An idle connection that dies (server restart) must not crash the process.
    pool.on('error', (error) => {
      console.error('minute-topup: an idle PostgreSQL connection failed:', error.message);
    });
    const store = new PostgresStore(pool, pipeline);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /** Applies the missing migrations, once, even when several processes start together. */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)`,
      );
      const { rows } = await client.query<Row>(
        'SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations',
      );
      const current = num(rows[0]?.v ?? 0);
      for (const [i, sql] of postgresMigrations.entries()) {
        const version = i + 1;
        if (version <= current) continue;
        await client.query(sql);
        await client.query(
          'INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)',
          [version, Date.now()],
        );
      }
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw error;
    }
  }

  async transact<T>(fn: (tx: LedgerTx) => Promise<T>, options: TransactOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    // Reads see one snapshot; writes lock their account row (READ COMMITTED).
    const begin = options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN';
    try {
      // Pipelined, BEGIN goes out with the first statement; it is awaited
      // before COMMIT, so a failed BEGIN fails the transaction.
      const begun = client.query(begin);
      if (!this.pipeline) await begun;
      else begun.catch(() => undefined);
      const result = await fn(createTx(client));
      await begun;
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (rollbackError) {
        // The connection is unusable: drop it from the pool.
        client.release(rollbackError instanceof Error ? rollbackError : true);
      }
      throw error;
    }
  }

  async audit(): Promise<LedgerAudit> {
    const client = await this.pool.connect();
    try {
      // One snapshot for all the audit queries.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const audit = await sqlAudit(async (sql) => (await client.query<Row>(sql)).rows);
      await client.query('COMMIT');
      client.release();
      return audit;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw error;
    }
  }

  /** Waits for the checked-out connections to come back, then closes the pool. */
  close(): Promise<void> {
    this.ending ??= this.pool.end();
    return this.ending;
  }
}

function createTx(client: pg.PoolClient): LedgerTx {
  const run = (name: Name, values: unknown[]) =>
    client.query<Row>({ name: `mt_${name}`, text: SQL[name], values });
  const one = async (name: Name, values: unknown[]) => (await run(name, values)).rows[0];

  return {
    async getAccount(id, forUpdate = false) {
      const r = await one(forUpdate ? 'accountForUpdate' : 'account', [id]);
      return r ? accountFrom(r) : null;
    },
    async putAccount(id, planId, cycleAnchorMs, createdAtMs) {
      // Race-safe: of two processes creating one account, one inserts and the
      // other waits on the key, then updates.
      const created =
        (await run('insertAccount', [id, planId, cycleAnchorMs, createdAtMs])).rowCount === 1;
      if (!created) await run('updateAccount', [id, planId, cycleAnchorMs]);
      return created;
    },
    async adjustExtra(accountId, deltaSeconds, deltaActive) {
      const { rowCount } = await run('adjustExtra', [accountId, deltaSeconds, deltaActive]);
      if (rowCount !== 1) throw new Error(`adjustExtra: no account ${accountId}`);
    },
    async getCycle(accountId, cycleStartMs) {
      const r = await one('getCycle', [accountId, cycleStartMs]);
      return r ? countersFrom(r) : null;
    },
    async addToCycle(accountId, cycleStartMs, d) {
      await run('addToCycle', [accountId, cycleStartMs, ...cycleDeltaValues(d)]);
    },
    async activePurchases(accountId) {
      return (await run('activePurchases', [accountId])).rows.map((r) => ({
        id: String(r.id),
        remainingSeconds: num(r.remaining_seconds),
      }));
    },
    async drawFromPurchase(purchaseId, seconds) {
      const { rowCount, rows } = await run('draw', [purchaseId, seconds]);
      if (rowCount !== 1) throw new Error(`drawFromPurchase: no purchase ${purchaseId}`);
      return { usedUp: rows[0]?.status === 'used' };
    },
    async insertPurchase(p) {
      await run('insertPurchase', [
        p.id,
        p.accountId,
        p.packageId,
        p.name,
        p.minutes,
        p.priceMinor,
        p.currency,
        p.purchasedAtMs,
        p.totalSeconds,
        p.remainingSeconds,
        p.status,
        p.paymentRef,
        p.idempotencyKey,
      ]);
    },
    async listPurchases(accountId) {
      return (await run('listPurchases', [accountId])).rows.map(purchaseFrom);
    },
    async findPurchaseByKey(accountId, key) {
      const row = (await run('purchaseByKey', [accountId, key])).rows[0];
      return row ? purchaseFrom(row) : null;
    },
    async findUsage(accountId, callId) {
      const r = await one('findUsage', [accountId, callId]);
      if (!r) return null;
      const fromExtra: UsageRow['fromExtra'] = (r.allocations as [string, number | string][]).map(
        ([purchaseId, seconds]) => ({ purchaseId: String(purchaseId), seconds: num(seconds) }),
      );
      return usageFrom(r, fromExtra);
    },
    async insertUsage(u) {
      await run('insertUsage', [
        u.accountId,
        u.callId,
        u.seconds,
        u.occurredAtMs,
        u.cycleStartMs,
        u.fromPlanSeconds,
        u.overageSeconds,
        u.response,
        u.fromExtra.map((x) => x.purchaseId),
        u.fromExtra.map((x) => x.seconds),
      ]);
    },
    async findIntent(accountId, key) {
      const r = await one('findIntent', [accountId, key]);
      return r ? intentFrom(r) : null;
    },
    async insertIntent(i) {
      await run('insertIntent', [
        i.accountId,
        i.idempotencyKey,
        i.packageId,
        i.status,
        i.response,
        i.createdAtMs,
        ...chargedValues(i),
      ]);
    },
    async deleteIntent(accountId, key) {
      await run('deleteIntent', [accountId, key]);
    },
    async completeIntent(accountId, key, response) {
      await run('completeIntent', [accountId, key, response]);
    },
    async pendingIntents() {
      return (await run('pendingIntents', [])).rows.map(intentFrom);
    },
  };
}
