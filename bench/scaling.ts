import { join } from 'node:path';
import { defaultCatalog } from '../server/domain/catalog.js';
import { Ledger } from '../server/ledger/ledger.js';
import { TestPaymentGateway } from '../server/payments/test-gateway.js';
import { SqliteStore } from '../server/store/sqlite.js';
import type { Row } from './http.js';
import { median, tempDir } from './util.js';

/**
 * Does history slow the hot paths? Four accounts on one SQLite file — 10 vs
 * 100,000 purchases in their history, 100 vs 1,000,000 usage rows — and the
 * latency of a usage call and of a balance read on each, measured in rounds
 * that alternate between the accounts. In-process through the ledger, with
 * `synchronous=NORMAL`, so that an fsync's noise does not hide a scan.
 */
export async function scalingBench(opsPerRound = 300, rounds = 7): Promise<Row[]> {
  const tmp = tempDir();
  const store = new SqliteStore(join(tmp.dir, 'scaling.db'), { synchronous: 'NORMAL' });
  const ledger = new Ledger({ store, catalog: defaultCatalog, gateway: new TestPaymentGateway() });
  try {
    const now = Date.now();
    const seed = store.db.transaction((id: string, purchases: number, usages: number) => {
      store.db
        .prepare(
          `INSERT INTO accounts (id, plan_id, cycle_anchor_ms, extra_remaining_seconds, active_packages)
           VALUES (?, 'starter', ?, 100000000, 1)`,
        )
        .run(id, now - 86_400_000);
      const purchase = store.db.prepare(
        `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor, currency,
           purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref, idempotency_key)
         VALUES (?, ?, 'small', 'Small', 50, 1500, 'USD', ?, 3000, ?, ?, 'seed', ?)`,
      );
      for (let i = 0; i < purchases - 1; i += 1) {
        purchase.run(`${id}-p${i}`, id, now - 86_400_000, 0, 'used', `${id}-k${i}`);
      }
      // The one active package, big enough for the whole benchmark.
      store.db
        .prepare(
          `INSERT INTO purchases (id, account_id, package_id, name, minutes, price_minor, currency,
             purchased_at_ms, total_seconds, remaining_seconds, status, payment_ref, idempotency_key)
           VALUES (?, ?, 'large', 'Large', 1666667, 5000, 'USD', ?, 100000020, 100000000, 'active', 'seed', ?)`,
        )
        .run(`${id}-active`, id, now - 86_400_000, `${id}-kactive`);
      const usage = store.db.prepare(
        `INSERT INTO usages (account_id, call_id, seconds, occurred_at_ms, cycle_start_ms,
           from_plan_seconds, overage_seconds, response) VALUES (?, ?, 1, ?, 0, 1, 0, '{}')`,
      );
      for (let i = 0; i < usages; i += 1) usage.run(id, `seed-${i}`, now - 86_400_000);
    });
    const accounts = {
      purchases10: [10, 100],
      purchases100k: [100_000, 100],
      usages100: [10, 100],
      usages1m: [10, 1_000_000],
    } as const;
    for (const [id, [p, u]] of Object.entries(accounts)) seed(id, p, u);
    // Use up each plan, so that every measured call draws from the packages.
    for (const id of Object.keys(accounts)) await ledger.recordUsage(id, 'use-up-plan', 30_000);

    const usage: Record<string, number[]> = {};
    const balance: Record<string, number[]> = {};
    let seq = 0;
    for (let round = 0; round < rounds; round += 1) {
      const order = Object.keys(accounts);
      if (round % 2) order.reverse();
      for (const id of order) {
        let t = performance.now();
        for (let i = 0; i < opsPerRound; i += 1) await ledger.recordUsage(id, `b${(seq += 1)}`, 7);
        (usage[id] ??= []).push(((performance.now() - t) * 1000) / opsPerRound);
        t = performance.now();
        for (let i = 0; i < opsPerRound; i += 1) await ledger.balance(id);
        (balance[id] ??= []).push(((performance.now() - t) * 1000) / opsPerRound);
      }
    }
    const us = (xs: number[]) => `${median(xs).toFixed(0)} µs`;
    const ratio = (big: number[], small: number[]) =>
      `${(median(big) / median(small)).toFixed(2)}×`;
    return [
      {
        figure: 'Usage call, 10 → 100,000 purchases in history',
        value: `${us(usage.purchases10)} → ${us(usage.purchases100k)} (${ratio(usage.purchases100k, usage.purchases10)})`,
        goal: '≤ 1.2×',
      },
      {
        figure: 'Balance read, 10 → 100,000 purchases in history',
        value: `${us(balance.purchases10)} → ${us(balance.purchases100k)} (${ratio(balance.purchases100k, balance.purchases10)})`,
        goal: '≤ 1.2×',
      },
      {
        figure: 'Usage call, 100 → 1,000,000 usage rows',
        value: `${us(usage.usages100)} → ${us(usage.usages1m)} (${ratio(usage.usages1m, usage.usages100)})`,
        goal: '≤ 1.2×',
      },
      {
        figure: 'Balance read, 100 → 1,000,000 usage rows',
        value: `${us(balance.usages100)} → ${us(balance.usages1m)} (${ratio(balance.usages1m, balance.usages100)})`,
        goal: '≤ 1.2×',
      },
    ];
  } finally {
    await store.close();
    tmp.remove();
  }
}
