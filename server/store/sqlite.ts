import Database from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { STORE_DEFAULTS } from './options.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import { prepareStatements } from './sqlite-statements.js';
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
import { purchaseByParts } from './purchase-parts.js';
import type { LedgerAudit, LedgerStore, LedgerTx, UsageRow } from './types.js';
import { readForUsageByParts, writeUsageByParts } from './usage-parts.js';

export interface SqliteStoreOptions {
  /** `synchronous` pragma: FULL (default) survives power loss, NORMAL only a crash. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * Where FULL's fsync runs (a file database only): `background` (default) —
   * COMMIT writes the WAL without syncing it and the store `fdatasync`s the
   * WAL on libuv's thread pool, acknowledging a transaction only once a sync
   * that began after its COMMIT has finished, while the event loop goes on
   * parsing requests and running the next batch; `inline` — SQLite's own
   * FULL, the COMMIT blocks the event loop for its fsync.
   */
  fsync?: 'background' | 'inline';
  /**
   * Group commit: how many transactions that arrive together may share one
   * COMMIT (one fsync). 1 turns grouping off. Default `STORE_DEFAULTS.sqliteMaxBatch`.
   */
  maxBatch?: number;
  /**
   * Background fsync: a checkpoint once batches have changed so many rows
   * since the last (default 4,000) — a measure of the WAL's growth, not tied
   * to how many transactions a request makes.
   */
  checkpointAfterRows?: number;
  /** Background fsync: how the WAL is synced (tests hold it to see what waits for it). */
  fdatasync?: (fd: number) => Promise<void>;
}

interface Pending {
  fn: (tx: LedgerTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** WAL syncs under way at once (libuv's thread pool has 4 threads). */
const MAX_SYNCS = 2;

/** `fs.fdatasync` as a promise: runs on libuv's thread pool, not on the event loop. */
const syncFile = promisify(fdatasync);

/**
 * The ledger on an embedded SQLite file (better-sqlite3), in WAL mode with
 * the durability of `synchronous=FULL`: a transaction is acknowledged only
 * once it survives a process crash and a power loss.
 *
 * better-sqlite3 is synchronous, so the store commits in groups: the
 * transactions that arrive together run one after another inside one SQLite
 * transaction, each in its own SAVEPOINT (a failing one is rolled back
 * alone), and are acknowledged together only after their shared COMMIT is
 * durable. And the fsync does not block the event loop (`fsync:
 * 'background'`, the default): SQLite writes the WAL without syncing it at
 * COMMIT (`synchronous=NORMAL`, which in WAL mode syncs only the WAL's header
 * when the WAL starts over, and checkpoints), the store syncs the WAL file on
 * libuv's thread pool — at most two syncs at a time, each covering every
 * COMMIT made before it began, the folder once with the first — and
 * acknowledges a batch when a sync that began after its COMMIT is done. A
 * batch that wrote nothing waits for the syncs of what it may have read
 * (another connection's commits, a WAL left by a dead process, included). So
 * the event loop parses requests and runs the next batches while the disk
 * syncs; nothing unsynced is ever answered. Checkpoints are the store's
 * (`wal_autocheckpoint=0`): every `checkpointAfterRows` rows changed a PASSIVE
 * checkpoint syncs the WAL before copying it and the database file before
 * the WAL may start over.
 */
export class SqliteStore implements LedgerStore {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly tx: LedgerTx;
  private readonly maxBatch: number;
  private pending: Pending[] = [];
  private draining: Promise<void> | null = null;
  private readonly sql: Record<
    'begin' | 'commit' | 'rollback' | 'save' | 'undo' | 'release' | 'changes' | 'dataVersion',
    Database.Statement
  >;
  /** Batches committed, transactions in them, WAL syncs and checkpoints, for tests and benchmarks. */
  readonly stats = { commits: 0, transactions: 0, syncs: 0, checkpoints: 0 };
  /** Background fsync: the WAL's path as SQLite resolved it, else null (inline, NORMAL or `:memory:`). */
  private readonly walPath: string | null;
  private walFd: number | null = null;
  /** The WAL's folder is synced once, with the first sync (its entry for a new WAL). */
  private folderSynced = false;
  /** `PRAGMA data_version` after our last batch: it moves when another connection commits. */
  private dataVersion = 0;
  private closed = false;
  private readonly syncWal: (fd: number) => Promise<void>;
  private readonly checkpointAfterRows: number;
  /** Rows changed since the last checkpoint. */
  private rowsSinceCheckpoint = 0;
  /** Batches that wrote, in commit order; and how many of them are known durable. */
  private written = 0;
  private durable = 0;
  /** WAL syncs under way, each with the batches it covers; and the batches waiting for one. */
  private readonly syncs: { upTo: number; done: Promise<void> }[] = [];
  private waiting: { n: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** A failed sync: what was committed may not be on disk, so nothing more is acknowledged. */
  private broken: unknown = null;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    const synchronous = options.synchronous ?? 'FULL';
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.maxBatch = Math.max(1, options.maxBatch ?? STORE_DEFAULTS.sqliteMaxBatch);
    this.migrate();
    const background =
      synchronous === 'FULL' &&
      (options.fsync ?? 'background') === 'background' &&
      this.db.pragma('journal_mode', { simple: true }) === 'wal';
    // The file SQLite opened (symbolic links resolved, the path made absolute).
    const main = (this.db.pragma('database_list') as { name: string; file: string }[]).find(
      (d) => d.name === 'main',
    );
    this.walPath = background && main?.file ? `${main.file}-wal` : null;
    this.syncWal = options.fdatasync ?? syncFile;
    this.checkpointAfterRows = Math.max(1, options.checkpointAfterRows ?? 4000);
    if (this.walPath) {
      // In WAL mode NORMAL syncs nothing at COMMIT, but still syncs the WAL's
      // header when the WAL starts over (before any frame may follow it) and
      // both files in a checkpoint. (OFF would skip the header's sync: an old
      // header and old frames could outlive a power loss and be replayed.)
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('wal_autocheckpoint = 0');
      // A WAL left by a process that died may hold frames never synced:
      // counted as written, so the first batch, a read too, waits for a sync.
      if (existsSync(this.walPath) && statSync(this.walPath).size > 0) this.written = 1;
    }
    this.tx = this.createTx();
    this.sql = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      save: this.db.prepare('SAVEPOINT op'),
      undo: this.db.prepare('ROLLBACK TO op'),
      release: this.db.prepare('RELEASE op'),
      changes: this.db.prepare('SELECT total_changes() AS n').pluck(),
      dataVersion: this.db.prepare('PRAGMA data_version').pluck(),
    };
    if (this.walPath) this.dataVersion = Number(this.sql.dataVersion.get());
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)',
    );
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as Row;
    const current = num(row.v ?? 0);
    const apply = this.db.transaction(() => {
      sqliteMigrations.forEach((sql, i) => {
        const version = i + 1;
        if (version <= current) return;
        this.db.exec(sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)')
          .run(version, Date.now());
      });
    });
    apply.immediate();
  }

  transact<T>(fn: (tx: LedgerTx) => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('The SQLite store is closed.'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.drain();
    });
  }

  /** Runs batches until nothing is pending; one drain at a time. */
  private drain(): void {
    if (this.draining) return;
    this.draining = (async () => {
      // Let the requests that arrived with this one join its batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.pending.length) await this.runBatch(this.pending.splice(0, this.maxBatch));
    })()
      .catch((error: unknown) => {
        // Only a failed ROLLBACK gets here: fail what waits rather than hang.
        this.pending.splice(0).forEach((op) => op.reject(error));
      })
      .finally(() => {
        this.draining = null;
        if (this.pending.length) this.drain();
      });
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const done: { op: Pending; ok: boolean; value: unknown }[] = [];
    let wrote: boolean;
    let changed: number;
    try {
      if (this.broken) throw this.broken;
      const before = this.walPath ? this.sql.changes.get() : 0;
      this.sql.begin.run();
      for (const op of batch) {
        this.sql.save.run();
        try {
          const value = await op.fn(this.tx);
          this.sql.release.run();
          done.push({ op, ok: true, value });
        } catch (error) {
          // SQLite itself rolled the whole transaction back (disk full, I/O
          // error…): every write of the batch is gone, so none may succeed.
          if (!this.db.inTransaction) throw error;
          this.sql.undo.run();
          this.sql.release.run();
          done.push({ op, ok: false, value: error });
        }
      }
      this.sql.commit.run();
      changed = this.walPath ? Number(this.sql.changes.get()) - Number(before) : 0;
      wrote = this.walPath !== null && (changed > 0 || this.otherCommitted());
    } catch (error) {
      try {
        if (this.db.inTransaction) this.sql.rollback.run();
      } finally {
        batch.forEach((op) => op.reject(error));
      }
      return;
    }
    this.stats.commits += 1;
    this.stats.transactions += batch.length;
    const acknowledge = () => {
      for (const d of done) (d.ok ? d.op.resolve : d.op.reject)(d.value);
    };
    if (!this.walPath) {
      // SQLite synced the COMMIT itself (FULL inline), or durability is not asked.
      acknowledge();
      return;
    }
    if (wrote) {
      this.written += 1;
      this.rowsSinceCheckpoint += changed;
      if (this.rowsSinceCheckpoint >= this.checkpointAfterRows) {
        this.rowsSinceCheckpoint = 0;
        try {
          this.checkpoint();
        } catch (error) {
          // An I/O error of the checkpoint's own syncs: as with a failed sync,
          // nothing more is acknowledged (this batch's wait below rejects).
          this.broken ??= new Error(`The database could not be checkpointed: ${String(error)}`);
        }
      }
    }
    // Not awaited: the next batch runs while this one's sync is under way.
    this.durableUpTo(this.written).then(acknowledge, (error: unknown) =>
      batch.forEach((op) => op.reject(error)),
    );
  }

  /**
   * Whether another connection (a second process, a tool) committed since
   * our last batch: what it wrote may be unsynced, and this batch may have
   * read it — so the batch waits for a sync as if it had written.
   */
  private otherCommitted(): boolean {
    const version = Number(this.sql.dataVersion.get());
    const moved = version !== this.dataVersion;
    this.dataVersion = version;
    return moved;
  }

  /**
   * Resolves once every batch up to the `n`th that wrote is synced — by
   * whichever sync that began after it ends first.
   */
  private durableUpTo(n: number): Promise<void> {
    if (this.durable >= n) return Promise.resolve();
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ n, resolve, reject });
      this.startSyncIfNeeded();
    });
  }

  /**
   * Starts a sync when a waiting batch is covered by none under way — at
   * most `MAX_SYNCS` at a time, so a batch committed just after a sync began
   * need not wait for that one to end before its own begins.
   */
  private startSyncIfNeeded(): void {
    const wanted = Math.max(0, ...this.waiting.map((w) => w.n));
    const covered = Math.max(this.durable, ...this.syncs.map((s) => s.upTo));
    if (wanted <= covered || this.syncs.length >= MAX_SYNCS || this.broken) return;
    const sync = { upTo: this.written, done: Promise.resolve() };
    this.syncs.push(sync);
    sync.done = (async () => {
      try {
        const wal = this.walPath as string;
        // Opened once, after a COMMIT: the WAL exists from then on, and stays
        // (SQLite removes it only when the last connection closes).
        this.walFd ??= openSync(wal, 'r+');
        if (!this.folderSynced) {
          // The folder's entry of a new WAL is durable only once the folder is synced.
          const folder = openSync(dirname(wal), 'r');
          try {
            await this.syncWal(folder);
          } finally {
            closeSync(folder);
          }
          this.folderSynced = true;
        }
        // fdatasync writes every page of the file dirty when it begins (and
        // waits for those already being written): all COMMITs up to `upTo`.
        await this.syncWal(this.walFd);
        this.stats.syncs += 1;
        this.durable = Math.max(this.durable, sync.upTo);
      } catch (error) {
        // The kernel may have dropped the pages it could not write: never ask
        // again and pretend. Every waiting and later transaction fails.
        this.broken ??= new Error(
          `The database's write-ahead log could not be synced to disk: ${String(error)}`,
        );
      } finally {
        this.syncs.splice(this.syncs.indexOf(sync), 1);
      }
      const still: typeof this.waiting = [];
      for (const w of this.waiting) {
        if (this.broken) w.reject(this.broken);
        else if (w.n <= this.durable) w.resolve();
        else still.push(w);
      }
      this.waiting = still;
      this.startSyncIfNeeded();
    })();
  }

  /**
   * Copies the WAL into the database file, between batches: under NORMAL the
   * checkpoint syncs the WAL first, and the database file before the WAL may
   * start over. Blocks the event loop for its two syncs, once every
   * `checkpointAfterRows` rows changed.
   */
  private checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
    this.stats.checkpoints += 1;
  }

  /** Waits for what runs and for every sync under way (none left writing to a closed file), then closes. */
  async close(): Promise<void> {
    while (this.draining || this.syncs.length > 0) {
      if (this.draining) await this.draining;
      else await Promise.allSettled(this.syncs.map((s) => s.done));
    }
    this.closed = true;
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
    // The last connection checkpoints on close and deletes the WAL: synced.
    if (this.db.open) {
      if (this.walPath) this.db.pragma('synchronous = FULL');
      this.db.close();
    }
  }

  private createTx(): LedgerTx {
    const q = prepareStatements(this.db);
    return {
      ...purchaseByParts,
      async getAccount(id) {
        const r = q.getAccount.get(id) as Row | undefined;
        return r ? accountFrom(r) : null;
      },
      async putAccount(id, planId, cycleAnchorMs, createdAtMs, stripeCustomerId) {
        const created =
          q.insertAccount.run(id, planId, cycleAnchorMs, createdAtMs, stripeCustomerId ?? null)
            .changes === 1;
        if (created) return true;
        if (stripeCustomerId === undefined) q.updateAccount.run(planId, cycleAnchorMs, id);
        else q.updateAccountCustomer.run(planId, cycleAnchorMs, stripeCustomerId, id);
        return false;
      },
      async changeBalance(accountId, deltaSeconds, deltaActive) {
        const r = q.changeBalance.get(deltaSeconds, deltaActive, accountId) as Row | undefined;
        if (!r) throw new Error(`changeBalance: no account ${accountId}`);
        return num(r.version);
      },
      async getCycle(accountId, cycleStartMs) {
        const r = q.getCycle.get(accountId, cycleStartMs) as Row | undefined;
        return r ? countersFrom(r) : null;
      },
      async addToCycle(accountId, cycleStartMs, d) {
        q.addToCycle.run(accountId, cycleStartMs, ...cycleDeltaValues(d));
      },
      async activePurchases(accountId) {
        return (q.activePurchases.all(accountId) as Row[]).map((r) => ({
          id: String(r.id),
          remainingSeconds: num(r.remaining_seconds),
        }));
      },
      async drawFromPurchase(purchaseId, seconds) {
        const r = q.draw.get(seconds, seconds, purchaseId) as Row | undefined;
        return { usedUp: r?.status === 'used' };
      },
      async insertPurchase(row) {
        q.insertPurchase.run(purchaseValues(row));
      },
      async listPurchases(accountId) {
        return (q.listPurchases.all(accountId) as Row[]).map(purchaseFrom);
      },
      async findPurchaseByKey(accountId, key) {
        const r = q.purchaseByKey.get(accountId, key) as Row | undefined;
        return r ? purchaseFrom(r) : null;
      },
      async findIntentByPaymentRef(paymentRef) {
        const r = q.intentByPaymentRef.get(paymentRef) as Row | undefined;
        return r ? intentFrom(r) : null;
      },
      async findPurchaseByPaymentRef(paymentRef) {
        const r = q.purchaseByPaymentRef.get(paymentRef) as Row | undefined;
        return r ? purchaseFrom(r) : null;
      },
      async getPurchase(accountId, purchaseId) {
        const r = q.getPurchase.get(accountId, purchaseId) as Row | undefined;
        return r ? purchaseFrom(r) : null;
      },
      async purchasesByIds(accountId, ids) {
        if (ids.length === 0) return [];
        return (q.purchasesByIds.all(accountId, JSON.stringify(ids)) as Row[]).map(purchaseFrom);
      },
      async markRefunded(purchaseId, refund) {
        const done = q.markRefunded.run(refund.seconds, refund.minor, refund.atMs, purchaseId);
        if (done.changes !== 1) throw new Error(`markRefunded: no purchase ${purchaseId}`);
      },
      async restoreRefunded(purchaseId) {
        if (q.restoreRefunded.run(purchaseId).changes !== 1) {
          throw new Error(`restoreRefunded: no refunded purchase ${purchaseId}`);
        }
      },
      async listUsage(accountId, range) {
        const rows = (range.order === 'desc' ? q.usageNewestFirst : q.usageOldestFirst).all(
          accountId,
          ...usageBounds(range),
          range.limit,
        ) as Row[];
        if (rows.length === 0) return [];
        const parts = new Map<string, UsageRow['fromExtra']>();
        const callIds = JSON.stringify(rows.map((r) => String(r.call_id)));
        for (const a of q.allocationsOfCalls.all(accountId, callIds) as Row[]) {
          const list = parts.get(String(a.call_id)) ?? [];
          list.push({ purchaseId: String(a.purchase_id), seconds: num(a.seconds) });
          parts.set(String(a.call_id), list);
        }
        return rows.map((r) => usageEntryFrom(r, parts.get(String(r.call_id)) ?? []));
      },
      async readForUsage(accountId, callId, windows) {
        return readForUsageByParts(this, accountId, callId, async (id) => {
          if (windows.length < 1 || windows.length > 2) {
            throw new Error('readForUsage: one or two windows of cycle starts');
          }
          const [w1, w2 = w1] = windows;
          const rows = q.cyclesWithin.all(id, ...w1, ...w2) as Row[];
          return new Map(rows.map((r) => [num(r.cycle_start_ms), countersFrom(r)]));
        });
      },
      async writeUsage(w) {
        await writeUsageByParts(this, w);
      },
      async findUsage(accountId, callId) {
        const r = q.findUsage.get(accountId, callId) as Row | undefined;
        if (!r) return null;
        const fromExtra = (q.allocationsOf.all(accountId, callId) as Row[]).map((a) => ({
          purchaseId: String(a.purchase_id),
          seconds: num(a.seconds),
        }));
        return usageFrom(r, fromExtra);
      },
      async insertUsage(u) {
        q.insertUsage.run(
          u.accountId,
          u.callId,
          u.seconds,
          u.occurredAtMs,
          u.cycleStartMs,
          u.fromPlanSeconds,
          u.overageSeconds,
          u.response,
          u.version,
        );
        for (const part of u.fromExtra) {
          q.insertAllocation.run(u.accountId, u.callId, part.purchaseId, part.seconds);
        }
      },
      async findIntent(accountId, key) {
        const r = q.findIntent.get(accountId, key) as Row | undefined;
        return r ? intentFrom(r) : null;
      },
      async insertIntent(i) {
        q.insertIntent.run(
          i.accountId,
          i.idempotencyKey,
          i.packageId,
          i.status,
          i.response,
          i.createdAtMs,
          ...chargedValues(i),
          ...paymentValues(i),
        );
      },
      async updateIntentPayment(i) {
        q.updateIntentPayment.run(...paymentValues(i), i.accountId, i.idempotencyKey);
      },
      async awaitingIntents(accountId) {
        return (q.awaitingIntents.all(accountId) as Row[]).map(intentFrom);
      },
      async deleteIntent(accountId, key) {
        q.deleteIntent.run(accountId, key);
      },
      async completeIntent(accountId, key, response) {
        q.completeIntent.run(response, accountId, key);
      },
      async pendingIntents() {
        return (q.pendingIntents.all() as Row[]).map(intentFrom);
      },
      async recordPaymentEvent(id, type, receivedAtMs) {
        return q.recordPaymentEvent.run(id, type, receivedAtMs).changes === 1;
      },
      async setWarning(accountId, warning) {
        q.setWarning.run(warning, accountId);
      },
      async getAutoTopup(accountId) {
        const r = q.getAutoTopup.get(accountId) as Row | undefined;
        return r ? autoTopupFrom(r) : null;
      },
      async putAutoTopup(a) {
        q.putAutoTopup.run(a.accountId, a.enabled ? 1 : 0, ...autoTopupValues(a));
        q.setAutoTopupTrigger.run(autoTopupBelowSeconds(a), a.accountId);
      },
      async insertWebhook(w) {
        q.insertWebhook.run(...webhookValues(w));
      },
      async claimWebhooks(nowMs, leaseUntilMs, limit) {
        const rows = q.claimWebhooks.all(leaseUntilMs, nowMs, nowMs, limit) as Row[];
        return rows.sort((a, b) => num(a.seq) - num(b.seq)).map(webhookFrom);
      },
      async finishWebhook(id, leaseUntilMs, outcome) {
        return (
          q.finishWebhook.run(...webhookOutcomeValues(outcome), id, leaseUntilMs).changes === 1
        );
      },
      async pruneWebhooks(deliveredBeforeMs, failedBeforeMs) {
        return q.pruneWebhooks.run(deliveredBeforeMs, failedBeforeMs).changes;
      },
      async listWebhooks(status, limit) {
        const rows = status ? q.listWebhooks.all(status, limit) : q.listAllWebhooks.all(limit);
        return (rows as Row[]).map(webhookFrom);
      },
    };
  }

  async audit(): Promise<LedgerAudit> {
    return this.transact(async () => sqlAudit((sql) => this.db.prepare(sql).all() as Row[]));
  }
}
