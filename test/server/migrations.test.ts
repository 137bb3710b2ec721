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
import type { LedgerStore } from '../../server/store/types.js';
import { freshPostgresDatabase } from '../support/pg.js';

/**
 * Accounts made before the ledger kept their creation time get the earliest
 * evidence of them when the database is upgraded: the cycle anchor, their
 * first purchase or purchase attempt (server-clock times), never later than
 * the upgrade. (A usage's occurredAt, which the client supplies, is none.)
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
    // A usage the old code accepted from long before: not evidence of the account.
    [usage, ['anchored', 'old', 60, Date.UTC(2000, 0, 1), Date.UTC(2000, 0, 1), 60, 0, '{}']],
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
    // Anchored in the future, nothing else: the time of the upgrade.
    [account, ['future', 'starter', FUTURE]],
  ];
}

async function createdTimes(store: LedgerStore): Promise<Record<string, number>> {
  return store.transact(async (tx) => {
    const out: Record<string, number> = {};
    for (const id of ['anchored', 'bought', 'attempted', 'future']) {
      out[id] = (await tx.getAccount(id))!.createdAtMs;
    }
    return out;
  });
}

function assertEarliestEvidence(times: Record<string, number>, upgradeFrom: number, to: number) {
  assert.equal(times.anchored, T);
  assert.equal(times.bought, T + DAY);
  assert.equal(times.attempted, T + 2 * DAY);
  assert.ok(
    times.future >= upgradeFrom - 1000 && times.future <= to + 1000,
    `the upgrade's time, got ${new Date(times.future).toISOString()}`,
  );
}

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
    } finally {
      await store.close();
    }
  });
});
