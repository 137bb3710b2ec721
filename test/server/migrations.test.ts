import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { postgresMigrations } from '../../server/store/postgres-migrations.js';
import { PostgresStore } from '../../server/store/postgres.js';
import { sqliteMigrations } from '../../server/store/sqlite-migrations.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import type { LedgerStore, LedgerTx } from '../../server/store/types.js';
import { defaultCatalog } from '../../server/domain/index.js';
import { Ledger } from '../../server/ledger/ledger.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { freshPostgresDatabase } from '../support/pg.js';

/**
 * Accounts made before the ledger kept their creation time get the earliest
 * time the ledger knows them by when the database is upgraded: the cycle
 * anchor, their first purchase or purchase attempt (server-clock times), their
 * earliest usage (the earlier version accepted it, so usage dated like it
 * stays acceptable), never later than the upgrade.
 */

const DAY = 86_400_000;
const T = Date.parse('2026-03-10T12:00:00Z');
const FUTURE = Date.now() + 365 * DAY;

/** The rows a version-1 ledger holds, as [sql, values] in the dialect's placeholders. */
function version1Rows(p: (i: number) => string): [string, unknown[]][] {
  const values = (n: number) => Array.from({ length: n }, (_, i) => p(i + 1)).join(', ');
  const account = `INSERT INTO accounts (id, plan_id, cycle_anchor_ms) VALUES (${values(3)})`;
  const purchase = `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor,
    currency, purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref,
    idempotency_key) VALUES (${values(13)})`;
  const intent = `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status,
    response, created_at_ms) VALUES (${values(6)})`;
  const usage = `INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
    from_plan_seconds, overage_seconds, response) VALUES (${values(8)})`;
  return [
    // Anchored when it was made (no anchor given): the anchor.
    [account, ['anchored', 'starter', T]],
    // Anchored when it was made, a usage the old code accepted from long before: the usage.
    [account, ['early-call', 'starter', T]],
    [usage, ['early-call', 'old', 60, Date.UTC(2000, 0, 1), Date.UTC(2000, 0, 1), 60, 0, '{}']],
    // Anchored in the future, a package bought before: the purchase.
    [account, ['bought', 'starter', FUTURE]],
    [
      purchase,
      [
        'pur_1',
        'bought',
        'small',
        'Small',
        50,
        1500,
        'USD',
        T + DAY,
        3000,
        3000,
        'active',
        'r',
        'k',
      ],
    ],
    // Anchored in the future, a purchase attempt pending: the attempt.
    [account, ['attempted', 'starter', FUTURE]],
    [intent, ['attempted', 'k', 'small', 'pending', null, T + 2 * DAY]],
    // Anchored in the future, a purchase, and late usage dated before it: the usage.
    [account, ['late-call', 'starter', FUTURE]],
    [
      purchase,
      [
        'pur_2',
        'late-call',
        'small',
        'Small',
        50,
        1500,
        'USD',
        T + 4 * DAY,
        3000,
        3000,
        'active',
        'r',
        'k',
      ],
    ],
    [usage, ['late-call', 'late', 60, T + 3 * DAY, T + 3 * DAY, 60, 0, '{}']],
    // Anchored in the future, nothing else: the time of the upgrade.
    [account, ['future', 'starter', FUTURE]],
  ];
}

async function createdTimes(store: LedgerStore): Promise<Record<string, number>> {
  return store.transact(async (tx) => {
    const out: Record<string, number> = {};
    for (const id of ['anchored', 'early-call', 'bought', 'attempted', 'late-call', 'future']) {
      out[id] = (await tx.getAccount(id))!.createdAtMs;
    }
    return out;
  });
}

function assertEarliestEvidence(times: Record<string, number>, upgradeFrom: number, to: number) {
  assert.equal(times.anchored, T);
  assert.equal(times['early-call'], Date.UTC(2000, 0, 1));
  assert.equal(times.bought, T + DAY);
  assert.equal(times['late-call'], T + 3 * DAY);
  assert.equal(times.attempted, T + 2 * DAY);
  assert.ok(
    times.future >= upgradeFrom - 1000 && times.future <= to + 1000,
    `the upgrade's time, got ${new Date(times.future).toISOString()}`,
  );
}

/**
 * After the upgrade: usage dated like the usage already recorded is still
 * accepted, a version-1 intent reads back without its package (it falls back
 * to the catalog), and an account inserted the way a process of the earlier
 * version does — without created_at_ms, as during a rolling deploy — is
 * accepted, created at `expectCreated` (0, no bound, on SQLite; the
 * database's now on PostgreSQL), and takes usage.
 */
async function assertUpgradedLedgerWorks(
  store: LedgerStore,
  insertAsEarlierVersion: (sql: string) => Promise<unknown>,
  expectCreated: (createdAtMs: number) => void,
) {
  const ledger = new Ledger({
    store,
    catalog: defaultCatalog,
    gateway: new TestPaymentGateway(),
    clock: { now: () => FUTURE + DAY },
  });
  const late = await ledger.recordUsage('late-call', 'late-2', 60, iso(T + 3 * DAY));
  assert.equal(late.usage.seconds, 60);
  const early = await ledger.recordUsage('early-call', 'old-2', 60, '2000-01-01T00:00:00Z');
  assert.equal(early.usage.seconds, 60);
  const intent = await store.transact((tx) => tx.findIntent('attempted', 'k'));
  assert.equal(intent?.status, 'pending');
  assert.equal(intent?.charged, null);
  await insertAsEarlierVersion(
    "INSERT INTO accounts (id, plan_id, cycle_anchor_ms) VALUES ('by-old-process', 'starter', 0)",
  );
  const account = await store.transact((tx) => tx.getAccount('by-old-process'));
  expectCreated(account!.createdAtMs);
  const undated = await ledger.recordUsage('by-old-process', 'now', 60);
  assert.equal(undated.usage.occurredAt, iso(FUTURE + DAY));
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('the created-at migration', () => {
  it('gives the accounts of a version-1 SQLite ledger the earliest evidence of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minute-topup-migration-'));
    try {
      const file = join(dir, 'ledger.sqlite');
      const db = new Database(file);
      db.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)',
      );
      db.exec(sqliteMigrations[0]);
      db.prepare('INSERT INTO schema_migrations VALUES (1, ?)').run(T);
      for (const [sql, values] of version1Rows(() => '?')) db.prepare(sql).run(...values);
      db.close();
      const from = Date.now();
      const store = new SqliteStore(file);
      try {
        assertEarliestEvidence(await createdTimes(store), from, Date.now());
        await assertUpgradedLedgerWorks(
          store,
          async (sql) => store.db.exec(sql),
          (created) => assert.equal(created, 0, 'no lower bound'),
        );
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the accounts of a version-1 PostgreSQL ledger the earliest evidence of them', async (t) => {
    const fresh = await freshPostgresDatabase();
    if (!fresh) return t.skip('PostgreSQL not reachable');
    t.after(() => fresh.drop());
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      await client.query(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)',
      );
      await client.query(postgresMigrations[0]);
      await client.query('INSERT INTO schema_migrations VALUES (1, $1)', [T]);
      for (const [sql, values] of version1Rows((i) => `$${i}`)) await client.query(sql, values);
    } finally {
      await client.end();
    }
    const from = Date.now();
    const store = await PostgresStore.open(fresh.url, { poolMax: 2 });
    try {
      assertEarliestEvidence(await createdTimes(store), from, Date.now());
      const before = Date.now();
      await assertUpgradedLedgerWorks(
        store,
        (sql) => store.pool.query(sql),
        (created) =>
          assert.ok(
            created >= before - 60_000 && created <= Date.now() + 60_000,
            `the database's now, got ${iso(created)}`,
          ),
      );
    } finally {
      await store.close();
    }
  });

  it('lets a process of the earlier version create accounts during a rolling deploy (PostgreSQL)', async (t) => {
    const fresh = await freshPostgresDatabase();
    if (!fresh) return t.skip('PostgreSQL not reachable');
    t.after(() => fresh.drop());
    const store = await PostgresStore.open(fresh.url, { poolMax: 2 });
    try {
      const before = Date.now();
      // The earlier version's INSERT, which names no created_at_ms.
      await store.pool.query(
        "INSERT INTO accounts (id, plan_id, cycle_anchor_ms) VALUES ('old', 'starter', $1)",
        [before],
      );
      const account = await store.transact((tx) => tx.getAccount('old'));
      assert.ok(
        account!.createdAtMs >= before - 60_000 && account!.createdAtMs <= Date.now() + 60_000,
        `created at the database's now, got ${iso(account!.createdAtMs)}`,
      );
    } finally {
      await store.close();
    }
  });
});

/** The rows a version-3 ledger holds, as [sql, values] in the dialect's placeholders. */
function version3Rows(p: (i: number) => string): [string, unknown[]][] {
  const values = (n: number) => Array.from({ length: n }, (_, i) => p(i + 1)).join(', ');
  return [
    [
      `INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms, extra_remaining_seconds,
        active_packages) VALUES (${values(6)})`,
      ['acme', 'growth', T, T - DAY, 3000, 1],
    ],
    [
      `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor, currency,
        purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref, idempotency_key)
        VALUES (${values(13)})`,
      [
        'pur_old',
        'acme',
        'small',
        'Small',
        50,
        1500,
        'USD',
        T,
        3000,
        3000,
        'active',
        'pi_old',
        'k1',
      ],
    ],
    [
      `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status, response,
        created_at_ms, package_name, minutes, price_minor, currency) VALUES (${values(10)})`,
      ['acme', 'k1', 'small', 'completed', '{"ok":true}', T, 'Small', 50, 1500, 'USD'],
    ],
    [
      `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status, response,
        created_at_ms, package_name, minutes, price_minor, currency) VALUES (${values(10)})`,
      ['acme', 'k2', 'medium', 'pending', null, T + 1, 'Medium', 120, 3000, 'USD'],
    ],
    // Two calls, the later one recorded first (an occurredAt a client sent late): the
    // migration orders them by their time.
    ...(['c2', 'c1'] as const).map((callId): [string, unknown[]] => [
      `INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
        from_plan_seconds, overage_seconds, response) VALUES (${values(8)})`,
      ['acme', callId, 60, callId === 'c1' ? T + 10 : T + 20, T, 60, 0, '{}'],
    ]),
  ];
}

/**
 * After the upgrade to version 4 (and on, to the latest), the rows of version
 * 3 are all there and read with the new fields at their defaults (version 5:
 * the ledger version starts at 0), and so do rows a process of version 3
 * writes during a rolling deploy (`insertAsEarlierVersion`); the new
 * operations work on them.
 */
/** The newest schema version (both dialects have as many migrations). */
const LATEST_SCHEMA = sqliteMigrations.length;

async function assertVersion3RowsRead(
  store: LedgerStore,
  schemaVersion: () => Promise<number>,
  insertAsEarlierVersion: (sql: string) => Promise<unknown>,
) {
  assert.equal(await schemaVersion(), LATEST_SCHEMA);
  const read = await store.transact(async (tx) => ({
    account: await tx.getAccount('acme'),
    purchases: await tx.listPurchases('acme'),
    completed: await tx.findIntent('acme', 'k1'),
    pending: await tx.findIntent('acme', 'k2'),
    awaiting: await tx.awaitingIntents('acme'),
  }));
  assert.deepEqual(read.account, {
    id: 'acme',
    planId: 'growth',
    cycleAnchorMs: T,
    createdAtMs: T - DAY,
    extraRemainingSeconds: 3000,
    activePackages: 1,
    stripeCustomerId: null,
    version: 0,
    // Schema 8: no warning recorded yet (the next change records it silently), auto top-up off.
    warning: null,
    autoTopupBelowSeconds: null,
  });
  assert.deepEqual(read.purchases, [
    {
      id: 'pur_old',
      accountId: 'acme',
      packageId: 'small',
      name: 'Small',
      minutes: 50,
      priceMinor: 1500,
      currency: 'USD',
      purchasedAtMs: T,
      totalSeconds: 3000,
      remainingSeconds: 3000,
      status: 'active',
      paymentRef: 'pi_old',
      idempotencyKey: 'k1',
      refundedSeconds: null,
      kind: 'package',
      reason: null,
      refundMinor: null,
      refundedAtMs: null,
    },
  ]);
  // Version 7: the calls recorded before have versions below any new one,
  // in the order of their time, and page as the history does.
  const calls = (range: Parameters<LedgerTx['listUsage']>[1]) =>
    store.transact(async (tx) => (await tx.listUsage('acme', range)).map((u) => u.callId));
  assert.deepEqual(await calls({ order: 'desc', limit: 10 }), ['c2', 'c1']);
  await store.transact((tx) =>
    tx.insertUsage({
      accountId: 'acme',
      callId: 'c3',
      seconds: 0,
      occurredAtMs: T,
      cycleStartMs: T,
      fromPlanSeconds: 0,
      overageSeconds: 0,
      fromExtra: [],
      response: '{}',
      version: 1,
    }),
  );
  assert.deepEqual(await calls({ order: 'desc', limit: 2 }), ['c3', 'c2']);
  assert.deepEqual(await calls({ order: 'asc', limit: 10 }), ['c1', 'c2', 'c3']);
  const [, second] = await store.transact((tx) =>
    tx.listUsage('acme', { order: 'desc', limit: 2 }),
  );
  assert.deepEqual(await calls({ order: 'desc', limit: 5, beforeVersion: second.version }), ['c1']);
  const noPayment = {
    attempt: '',
    purchaseId: null,
    paymentRef: null,
    paymentState: null,
    customerId: null,
  };
  assert.deepEqual(read.completed, {
    accountId: 'acme',
    idempotencyKey: 'k1',
    packageId: 'small',
    status: 'completed',
    response: '{"ok":true}',
    createdAtMs: T,
    charged: { name: 'Small', minutes: 50, priceMinor: 1500, currency: 'USD' },
    ...noPayment,
  });
  assert.deepEqual(read.pending, {
    accountId: 'acme',
    idempotencyKey: 'k2',
    packageId: 'medium',
    status: 'pending',
    response: null,
    createdAtMs: T + 1,
    charged: { name: 'Medium', minutes: 120, priceMinor: 3000, currency: 'USD' },
    ...noPayment,
  });
  assert.deepEqual(read.awaiting, [], 'an intent of version 3 has no payment state');

  // Written by a process of version 3, which names none of the new columns.
  await insertAsEarlierVersion(
    `INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms)
     VALUES ('by-old-process', 'starter', ${T}, ${T})`,
  );
  await insertAsEarlierVersion(
    `INSERT INTO purchase_intents (account_id, idempotency_key, package_id, status, response,
       created_at_ms, package_name, minutes, price_minor, currency)
     VALUES ('by-old-process', 'k', 'small', 'pending', NULL, ${T}, 'Small', 50, 1500, 'USD')`,
  );
  await insertAsEarlierVersion(
    `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor, currency,
       purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref, idempotency_key)
     VALUES ('pur_by_old', 'by-old-process', 'small', 'Small', 50, 1500, 'USD', ${T}, 3000, 3000,
       'active', 'pi_by_old', 'k')`,
  );
  await insertAsEarlierVersion(
    `UPDATE accounts SET extra_remaining_seconds = 3000, active_packages = 1
     WHERE id = 'by-old-process'`,
  );
  const byOld = await store.transact(async (tx) => ({
    account: await tx.getAccount('by-old-process'),
    intent: await tx.findIntent('by-old-process', 'k'),
    purchase: await tx.findPurchaseByPaymentRef('pi_by_old'),
  }));
  assert.equal(byOld.account?.stripeCustomerId, null);
  assert.deepEqual(
    {
      attempt: byOld.intent?.attempt,
      purchaseId: byOld.intent?.purchaseId,
      paymentRef: byOld.intent?.paymentRef,
      paymentState: byOld.intent?.paymentState,
      customerId: byOld.intent?.customerId,
    },
    noPayment,
  );
  assert.equal(byOld.purchase?.refundedSeconds, null);

  // The new operations on the old rows.
  await store.transact(async (tx) => {
    assert.equal(await tx.putAccount('acme', 'growth', T, 0, 'cus_1'), false);
    assert.equal((await tx.findPurchaseByPaymentRef('pi_old'))?.id, 'pur_old');
    await tx.markRefunded('pur_old', { seconds: 3000, minor: 1500, atMs: T });
    await tx.changeBalance('acme', -3000, -1);
    const pending = (await tx.findIntent('acme', 'k2'))!;
    await tx.updateIntentPayment({
      ...pending,
      attempt: 'att_1',
      paymentRef: 'pi_new',
      paymentState: 'processing',
    });
    assert.equal(await tx.recordPaymentEvent('evt_1', 'charge.refunded', T), true);
  });
  const after = await store.transact(async (tx) => ({
    account: await tx.getAccount('acme'),
    purchase: await tx.findPurchaseByKey('acme', 'k1'),
    awaiting: await tx.awaitingIntents('acme'),
  }));
  assert.equal(after.account?.stripeCustomerId, 'cus_1');
  assert.equal(after.account?.createdAtMs, T - DAY, 'its creation time stays');
  assert.equal(after.purchase?.refundedSeconds, 3000);
  assert.equal(after.purchase?.remainingSeconds, 0);
  assert.equal(after.purchase?.status, 'used');
  assert.deepEqual(
    after.awaiting.map((i) => [i.idempotencyKey, i.attempt, i.paymentRef, i.paymentState]),
    [['k2', 'att_1', 'pi_new', 'processing']],
  );
  const audit = await store.audit();
  for (const a of audit.accounts) {
    assert.equal(a.extraRemainingSeconds, a.sumPurchaseRemaining, a.id);
    assert.equal(a.activePackages, a.countActive, a.id);
  }
}

describe('the payments migration (version 4)', () => {
  it('keeps the rows of a version-3 SQLite ledger, which read with the new fields at their defaults', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minute-topup-migration-'));
    try {
      const file = join(dir, 'ledger.sqlite');
      const db = new Database(file);
      db.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)',
      );
      for (const [i, sql] of sqliteMigrations.slice(0, 3).entries()) {
        db.exec(sql);
        db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(i + 1, T);
      }
      for (const [sql, values] of version3Rows(() => '?')) db.prepare(sql).run(...values);
      db.close();
      const store = new SqliteStore(file);
      try {
        await assertVersion3RowsRead(
          store,
          async () =>
            Number(
              (
                store.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as {
                  v: number;
                }
              ).v,
            ),
          async (sql) => store.db.exec(sql),
        );
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the rows of a version-3 PostgreSQL ledger, which read with the new fields at their defaults', async (t) => {
    const fresh = await freshPostgresDatabase();
    if (!fresh) return t.skip('PostgreSQL not reachable');
    t.after(() => fresh.drop());
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      await client.query(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)',
      );
      for (const [i, sql] of postgresMigrations.slice(0, 3).entries()) {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations VALUES ($1, $2)', [i + 1, T]);
      }
      for (const [sql, values] of version3Rows((i) => `$${i}`)) await client.query(sql, values);
    } finally {
      await client.end();
    }
    const store = await PostgresStore.open(fresh.url, { poolMax: 2 });
    try {
      await assertVersion3RowsRead(
        store,
        async () =>
          Number(
            (await store.pool.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0].v,
          ),
        (sql) => store.pool.query(sql),
      );
    } finally {
      await store.close();
    }
  });
});
