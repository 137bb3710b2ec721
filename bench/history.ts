import { join } from 'node:path';
import { defaultCatalog } from '../server/domain/index.js';
import { Ledger } from '../server/ledger/ledger.js';
import { TestPaymentGateway } from '../server/payments/test-gateway.js';
import { PostgresStore } from '../server/store/postgres.js';
import { SqliteStore } from '../server/store/sqlite.js';
import type { LedgerStore } from '../server/store/types.js';
import { freshPostgresDatabase } from '../test/support/pg.js';
import type { Row } from './http.js';
import { median, tempDir } from './util.js';

/** Calls on the large account the usage history is read from. */
const CALLS = 100_000;
const ACCOUNT = 'big';
const T = Date.parse('2026-03-01T00:00:00Z');

/**
 * The usage history of one large account (100,000 calls, each drawn from
 * the plan): the first page, a page next to the oldest call (reached by its
 * cursor), and the whole history at 100 a page, on SQLite and PostgreSQL.
 * Keyset pages cost the same however deep they lie: the ratio shows it.
 */
export async function historyBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const tmp = tempDir();
  try {
    const sqlite = new SqliteStore(join(tmp.dir, 'history.db'));
    await seed(sqlite, async () => {
      const insert = sqlite.db.prepare(
        `INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
           from_plan_seconds, overage_seconds, response, version) VALUES (?, ?, 30, ?, ?, 30, 0, '{}', ?)`,
      );
      sqlite.db.transaction(() => {
        for (let i = 1; i <= CALLS; i += 1) insert.run(ACCOUNT, `call-${i}`, T + i, T, i);
      })();
    });
    rows.push(...(await measure('SQLite', sqlite)));
    await sqlite.close();
  } finally {
    tmp.remove();
  }
  const db = await freshPostgresDatabase();
  if (db) {
    const pg = await PostgresStore.open(db.url, { poolMax: 2 });
    try {
      await seed(pg, async () => {
        await pg.pool.query(
          `INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
             from_plan_seconds, overage_seconds, response, version)
           SELECT $1, 'call-' || i, 30, $2::bigint + i, $2, 30, 0, '{}', i
           FROM generate_series(1, $3::int) AS i`,
          [ACCOUNT, T, CALLS],
        );
        await pg.pool.query('ANALYZE usages');
      });
      rows.push(...(await measure('PostgreSQL', pg)));
    } finally {
      await pg.close();
      await db.drop();
    }
  }
  return rows;
}

async function seed(store: LedgerStore, insertCalls: () => Promise<void>): Promise<void> {
  await store.transact((tx) => tx.putAccount(ACCOUNT, 'scale', T, T));
  await insertCalls();
}

async function measure(name: string, store: LedgerStore): Promise<Row[]> {
  const ledger = new Ledger({ store, catalog: defaultCatalog, gateway: new TestPaymentGateway() });
  const time = async (fn: () => Promise<unknown>, times = 50) => {
    const ms: number[] = [];
    for (let i = 0; i < times; i += 1) {
      const started = performance.now();
      await fn();
      ms.push(performance.now() - started);
    }
    return median(ms);
  };
  // The cursor of the page next to the oldest: the last page's predecessor.
  const first = await ledger.usageHistory(ACCOUNT, { limit: 20 });
  const nearOldest = Buffer.from(`u1:${41}`).toString('base64url');
  const deepPage = await ledger.usageHistory(ACCOUNT, { limit: 20, cursor: nearOldest });
  if (first.usage[0]?.callId !== `call-${CALLS}` || deepPage.usage[0]?.callId !== 'call-40') {
    throw new Error(`history bench: unexpected pages on ${name}`);
  }
  const firstMs = await time(() => ledger.usageHistory(ACCOUNT, { limit: 20 }));
  const deepMs = await time(() => ledger.usageHistory(ACCOUNT, { limit: 20, cursor: nearOldest }));
  const page100Ms = await time(() => ledger.usageHistory(ACCOUNT, { limit: 100 }));
  let pages = 0;
  let cursor: string | undefined;
  const walked = performance.now();
  do {
    const page = await ledger.usageHistory(ACCOUNT, { limit: 100, cursor });
    pages += 1;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const walkMs = performance.now() - walked;
  const calls = CALLS.toLocaleString('en-US');
  return [
    {
      figure: `Usage history, first page of 20 (${name}, ${calls} calls)`,
      value: `${firstMs.toFixed(2)} ms`,
      goal: '≤ 5 ms',
    },
    {
      figure: `Usage history, page of 20 next to the oldest call ÷ first page (${name})`,
      value: `${(deepMs / firstMs).toFixed(2)}× (${deepMs.toFixed(2)} ms)`,
      goal: '≈ 1× (keyset, no OFFSET)',
    },
    {
      figure: `Usage history, page of 100 (${name})`,
      value: `${page100Ms.toFixed(2)} ms`,
      goal: '',
    },
    {
      figure: `Usage history, all ${calls} calls at 100 a page (${name})`,
      value: `${pages} pages in ${(walkMs / 1000).toFixed(1)} s (${(walkMs / pages).toFixed(2)} ms a page)`,
      goal: '',
    },
  ];
}
