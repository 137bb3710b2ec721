import pg from 'pg';
import { cycleContaining } from '../domain/cycles.js';
import { STORE_DEFAULTS } from './options.js';
import { postgresMigrations } from './postgres-migrations.js';
import { SQL, type StatementName } from './postgres-sql.js';
import { activeCount, noPurchaseReads } from './purchase-parts.js';
import {
  accountFrom,
  autoTopupBelowSeconds,
  autoTopupFrom,
  autoTopupValues,
  chargedValues,
  countersFrom,
  cycleDeltaValues,
  intentFrom,
  num,
  paymentValues,
  purchaseFrom,
  purchaseValues,
  sqlAudit,
  usageBounds,
  usageEntryFrom,
  usageFrom,
  webhookFrom,
  webhookOutcomeValues,
  webhookValues,
  type Row,
} from './rows.js';
import type {
  CycleCounters,
  LedgerAudit,
  LedgerStore,
  LedgerTx,
  TransactOptions,
  UsageRow,
} from './types.js';

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
      coalesceWrites(client);
      const begun = client.query(begin);
      if (!this.pipeline) await begun;
      else begun.catch(() => undefined);
      const result = await fn(createTx(client));
      await begun;
      // COMMIT of a transaction a failed statement aborted answers ROLLBACK,
      // not an error: a write whose failure went unnoticed must not pass.
      const committed = await client.query('COMMIT');
      if (committed.command !== 'COMMIT') {
        throw new Error(`The transaction was rolled back at COMMIT (${committed.command}).`);
      }
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

/** The `allocations` column of `findUsage` and the usage pages: `[[purchaseId, seconds], …]`. */
function allocationsFrom(r: Row): UsageRow['fromExtra'] {
  return (r.allocations as [string, number | string][]).map(([purchaseId, seconds]) => ({
    purchaseId: String(purchaseId),
    seconds: num(seconds),
  }));
}

/** The `cycles` column of `usageReads` and `purchaseReads`: each cycle's counters, by start. */
function cyclesFrom(r: Row): Map<number, CycleCounters> {
  const cycles = new Map<number, CycleCounters>();
  for (const [start, plan, extra, overage, count, spend] of r.cycles as number[][]) {
    cycles.set(num(start), {
      planUsedSeconds: num(plan),
      extraUsedSeconds: num(extra),
      overageSeconds: num(overage),
      topupCount: num(count),
      topupSpendMinor: num(spend),
    });
  }
  return cycles;
}

/** How far before an instant the billing cycle containing it starts, at most (a month ≤ 31 days). */
const CYCLE_MS_AT_MOST = 32 * 86_400_000;

/**
 * Pipelined statements sent in one tick leave in one write: node-postgres
 * writes each query on its own (one syscall, one wake-up of the backend on
 * a shared machine — the API process's largest own cost, profiled), so the
 * socket is corked at the first statement of a tick and uncorked at the
 * next. The answer is awaited after that tick anyway.
 */
function coalesceWrites(client: pg.PoolClient): void {
  const stream = (client as unknown as { connection?: { stream?: Partial<Corkable> } }).connection
    ?.stream;
  if (!stream || corked.has(stream) || !stream.cork || !stream.uncork) return;
  corked.add(stream);
  stream.cork();
  process.nextTick(() => {
    corked.delete(stream);
    stream.uncork?.();
  });
}
interface Corkable {
  cork(): void;
  uncork(): void;
}
const corked = new WeakSet<object>();

function createTx(client: pg.PoolClient): LedgerTx {
  const run = (name: StatementName, values: unknown[]) => {
    coalesceWrites(client);
    return client.query<Row>({ name: `mt_${name}`, text: SQL[name], values });
  };
  const one = async (name: StatementName, values: unknown[]) => (await run(name, values)).rows[0];

  return {
    async getAccount(id, forUpdate = false) {
      const r = await one(forUpdate ? 'accountForUpdate' : 'account', [id]);
      return r ? accountFrom(r) : null;
    },
    async putAccount(id, planId, cycleAnchorMs, createdAtMs, stripeCustomerId) {
      // Race-safe: of two processes creating one account, one inserts and the
      // other waits on the key, then updates.
      const inserted = await run('insertAccount', [
        id,
        planId,
        cycleAnchorMs,
        createdAtMs,
        stripeCustomerId ?? null,
      ]);
      if (inserted.rowCount === 1) return true;
      if (stripeCustomerId === undefined) await run('updateAccount', [id, planId, cycleAnchorMs]);
      else await run('updateAccountCustomer', [id, planId, cycleAnchorMs, stripeCustomerId]);
      return false;
    },
    async changeBalance(accountId, deltaSeconds, deltaActive) {
      const row = await one('changeBalance', [accountId, deltaSeconds, deltaActive]);
      if (!row) throw new Error(`changeBalance: no account ${accountId}`);
      return num(row.version);
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
    async insertPurchase(row) {
      const p = purchaseValues(row);
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
        p.refundedSeconds,
        p.kind,
        p.reason,
        p.refundMinor,
        p.refundedAtMs,
      ]);
    },
    async listPurchases(accountId) {
      return (await run('listPurchases', [accountId])).rows.map(purchaseFrom);
    },
    async findPurchaseByKey(accountId, key) {
      const row = (await run('purchaseByKey', [accountId, key])).rows[0];
      return row ? purchaseFrom(row) : null;
    },
    async findIntentByPaymentRef(paymentRef) {
      const row = await one('intentByPaymentRef', [paymentRef]);
      return row ? intentFrom(row) : null;
    },
    async findPurchaseByPaymentRef(paymentRef) {
      const row = await one('purchaseByPaymentRef', [paymentRef]);
      return row ? purchaseFrom(row) : null;
    },
    async getPurchase(accountId, purchaseId) {
      const row = await one('getPurchase', [accountId, purchaseId]);
      return row ? purchaseFrom(row) : null;
    },
    async purchasesByIds(accountId, ids) {
      if (ids.length === 0) return [];
      return (await run('purchasesByIds', [accountId, ids])).rows.map(purchaseFrom);
    },
    async markRefunded(purchaseId, refund) {
      const { rowCount } = await run('markRefunded', [
        purchaseId,
        refund.seconds,
        refund.minor,
        refund.atMs,
      ]);
      if (rowCount !== 1) throw new Error(`markRefunded: no purchase ${purchaseId}`);
    },
    async readForUsage(accountId, callId, windows) {
      if (windows.length < 1 || windows.length > 2) {
        throw new Error('readForUsage: one or two windows of cycle starts');
      }
      const [w1, w2 = w1] = windows;
      // Sent together (pipeline mode): the reads run after the lock is granted.
      const locked = one('accountForUpdate', [accountId]);
      const reads = one('usageReads', [accountId, callId, w1[0], w1[1], w2[0], w2[1]]);
      const [a, r] = await Promise.all([locked, reads]);
      if (!a || !r) return { account: null, earlier: null, cycles: new Map(), active: [] };
      const e = r.earlier as Row | null;
      return {
        account: accountFrom(a),
        earlier: e ? usageFrom(e, allocationsFrom(e)) : null,
        cycles: cyclesFrom(r),
        active: (r.active as [string, number | string][]).map(([id, remaining]) => ({
          id: String(id),
          remainingSeconds: num(remaining),
        })),
      };
    },
    async writeUsage(w) {
      const u = w.usage;
      const seconds = w.draws.reduce((s, d) => s + d.seconds, 0);
      const usedUp = w.draws.filter((d) => d.usedUp).length;
      const row = await one('writeUsage', [
        u.accountId,
        w.draws.map((d) => d.purchaseId),
        w.draws.map((d) => d.seconds),
        -seconds,
        -usedUp,
        u.cycleStartMs,
        ...cycleDeltaValues(w.cycleDelta),
        u.callId,
        u.seconds,
        u.occurredAtMs,
        u.fromPlanSeconds,
        u.overageSeconds,
        u.response,
      ]);
      if (
        !row ||
        num(row.version) !== u.version ||
        num(row.drawn) !== w.draws.length ||
        num(row.used_up) !== usedUp
      ) {
        throw new Error(`writeUsage: the ledger of ${u.accountId} is not as read`);
      }
    },
    async readForPurchase(accountId, key, nowMs) {
      // Sent together (pipeline mode): the reads run after the lock is granted.
      const locked = one('accountForUpdate', [accountId]);
      const reads = one('purchaseReads', [accountId, key, nowMs - CYCLE_MS_AT_MOST, nowMs]);
      const [a, r] = await Promise.all([locked, reads]);
      if (!a || !r) return noPurchaseReads();
      const account = accountFrom(a);
      const start = cycleContaining(account.cycleAnchorMs, nowMs).start;
      const intent = r.intent as Row | null;
      const purchase = r.purchase as Row | null;
      const autoTopup = r.auto_topup as Row | null;
      return {
        account,
        intent: intent && intentFrom(intent),
        purchase: purchase && purchaseFrom(purchase),
        counters:
          start >= nowMs - CYCLE_MS_AT_MOST
            ? (cyclesFrom(r).get(start) ?? null)
            : await this.getCycle(accountId, start),
        autoTopup: autoTopup && autoTopupFrom(autoTopup),
      };
    },
    async writeCredit(w) {
      // Sent together (pipeline mode: one round trip), run in this order; a
      // failure fails the ones after it, and the transaction.
      const p = w.purchase;
      const writes: Promise<unknown>[] = [this.insertPurchase(p)];
      const version = this.changeBalance(p.accountId, p.remainingSeconds, activeCount(p));
      writes.push(version, this.addToCycle(p.accountId, w.cycleStartMs, w.cycleDelta));
      writes.push(
        w.insertIntent
          ? this.insertIntent(w.insertIntent)
          : this.completeIntent(p.accountId, p.idempotencyKey, w.response),
      );
      if (w.autoTopup) writes.push(this.putAutoTopup(w.autoTopup));
      if (w.warning) writes.push(this.setWarning(p.accountId, w.warning));
      for (const webhook of w.webhooks) writes.push(this.insertWebhook(webhook));
      await Promise.all(writes);
      const made = await version;
      if (made !== w.version) {
        throw new Error(`writeCredit: version ${made}, expected ${w.version}`);
      }
    },
    async findUsage(accountId, callId) {
      const r = await one('findUsage', [accountId, callId]);
      return r ? usageFrom(r, allocationsFrom(r)) : null;
    },
    async restoreRefunded(purchaseId) {
      const { rowCount } = await run('restoreRefunded', [purchaseId]);
      if (rowCount !== 1) throw new Error(`restoreRefunded: no refunded purchase ${purchaseId}`);
    },
    async listUsage(accountId, range) {
      const name = range.order === 'desc' ? 'usageNewestFirst' : 'usageOldestFirst';
      const { rows } = await run(name, [accountId, ...usageBounds(range), range.limit]);
      return rows.map((r) => usageEntryFrom(r, allocationsFrom(r)));
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
        u.version,
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
        ...paymentValues(i),
      ]);
    },
    async updateIntentPayment(i) {
      await run('updateIntentPayment', [i.accountId, i.idempotencyKey, ...paymentValues(i)]);
    },
    async awaitingIntents(accountId) {
      return (await run('awaitingIntents', [accountId])).rows.map(intentFrom);
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
    async recordPaymentEvent(id, type, receivedAtMs) {
      return (await run('recordPaymentEvent', [id, type, receivedAtMs])).rowCount === 1;
    },
    async setWarning(accountId, warning) {
      await run('setWarning', [accountId, warning]);
    },
    async getAutoTopup(accountId) {
      const r = await one('getAutoTopup', [accountId]);
      return r ? autoTopupFrom(r) : null;
    },
    async putAutoTopup(a) {
      await run('putAutoTopup', [
        a.accountId,
        a.enabled,
        ...autoTopupValues(a),
        autoTopupBelowSeconds(a),
      ]);
    },
    async insertWebhook(w) {
      await run('insertWebhook', [...webhookValues(w)]);
    },
    async claimWebhooks(nowMs, leaseUntilMs, limit) {
      const { rows } = await run('claimWebhooks', [nowMs, leaseUntilMs, limit]);
      return rows.sort((a, b) => num(a.seq) - num(b.seq)).map(webhookFrom);
    },
    async finishWebhook(id, leaseUntilMs, outcome) {
      const done = await run('finishWebhook', [id, ...webhookOutcomeValues(outcome), leaseUntilMs]);
      return done.rowCount === 1;
    },
    async pruneWebhooks(deliveredBeforeMs, failedBeforeMs) {
      return (await run('pruneWebhooks', [deliveredBeforeMs, failedBeforeMs])).rowCount ?? 0;
    },
    async listWebhooks(status, limit) {
      const { rows } = status
        ? await run('listWebhooks', [status, limit])
        : await run('listAllWebhooks', [limit]);
      return rows.map(webhookFrom);
    },
  };
}
