import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chargeKeyOf } from '../../server/payments/gateway.js';
import { PostgresStore } from '../../server/store/postgres.js';
import { startApi, terminateApi, waitUntilReady, type ApiProcess } from '../support/api-process.js';
import { callApi, type Answer } from '../support/http.js';
import { freePort, prng } from '../support/net.js';
import { freshPostgresDatabase } from '../support/pg.js';

/**
 * Issue 5: two real API processes on one PostgreSQL ledger, hammered at once
 * with usage and purchases — some call ids and idempotency keys sent to both
 * processes at the same moment. Each is applied exactly once, and the ledger's
 * counters still equal what its rows add up to.
 */

const db = await freshPostgresDatabase();
const workDir = mkdtempSync(join(tmpdir(), 'minute-topup-mp-'));
const apis: ApiProcess[] = [];
const chargesFile = join(workDir, 'data', 'test-gateway-charges.jsonl');

after(async () => {
  await Promise.all(apis.map((api) => terminateApi(api, 5_000)));
  await db?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

/**
 * An API process on the shared database: both log their charges to one file,
 * so they are one test gateway; the demo is off (no seeded accounts).
 */
function startApiOn(port: number, databaseUrl: string): ApiProcess {
  return startApi({ port, databaseUrl, chargesFile, cwd: workDir });
}

type UsageBody = { usage: { callId: string; seconds: number } };
type PurchaseBody = { purchase: { id: string } };

test(
  'two API processes on one PostgreSQL ledger apply each call id and purchase key once',
  {
    skip: db ? false : 'PostgreSQL not reachable — the PostgreSQL suites are skipped.',
    timeout: 60_000,
  },
  async (t) => {
    assert.ok(db);
    const [portA, portB] = [await freePort(), await freePort()];
    apis.push(startApiOn(portA, db.url), startApiOn(portB, db.url));
    await Promise.all(apis.map((api) => waitUntilReady(api)));
    const [a, b] = apis;

    // Both processes create the same accounts at the same moment: one creates, one updates.
    const accounts = ['acct-1', 'acct-2', 'acct-3'];
    for (const id of accounts) {
      const answers = await Promise.all(
        apis.map((api) => callApi(api.base, 'PUT', `/v1/accounts/${id}`, { planId: 'starter' })),
      );
      assert.deepEqual(
        answers.map((x) => x.status).sort(),
        [200, 201],
        answers.map((x) => x.text).join('\n'),
      );
    }

    const seed = Number(process.env.MP_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (MP_SEED=${seed} replays this run)`);
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];

    // 200 usage calls (30 of them sent to both processes at once) and 50
    // purchase keys (20 sent to both at once): 300 requests. ~67 calls of
    // ~33 min each per account exhaust the 500-minute plan and about the
    // packages bought, so packages are drawn from and some usage is overage.
    type Job = () => Promise<void>;
    const jobs: Job[] = [];
    const usageAnswers = new Map<string, Answer[]>();
    const usageSeconds = new Map<string, number>();
    const purchaseAnswers = new Map<string, Answer[]>();
    const purchaseKeys = new Map<string, { accountId: string; packageId: string }>();
    let turn = 0;
    const next = () => apis[turn++ % 2];

    for (let i = 0; i < 200; i += 1) {
      const accountId = pick(accounts);
      const callId = `call-${i}`;
      const seconds = 1 + Math.floor(rand() * 4000);
      usageSeconds.set(callId, seconds);
      usageAnswers.set(callId, []);
      const targets = i < 30 ? [a, b] : [next()];
      jobs.push(async () => {
        const answers = await Promise.all(
          targets.map((api) =>
            callApi(api.base, 'POST', `/v1/accounts/${accountId}/usage`, { callId, seconds }),
          ),
        );
        usageAnswers.get(callId)!.push(...answers);
      });
    }
    for (let i = 0; i < 50; i += 1) {
      const accountId = pick(accounts);
      const packageId = pick(['small', 'medium', 'large'] as const);
      const key = `key-${seed}-${i}`;
      purchaseKeys.set(key, { accountId, packageId });
      purchaseAnswers.set(key, []);
      const targets = i < 20 ? [a, b] : [next()];
      jobs.push(async () => {
        const answers = await Promise.all(
          targets.map((api) =>
            callApi(
              api.base,
              'POST',
              `/v1/accounts/${accountId}/purchases`,
              { packageId },
              { 'Idempotency-Key': key },
            ),
          ),
        );
        purchaseAnswers.get(key)!.push(...answers);
      });
    }
    // Shuffle, then run with 40 jobs in flight (so that credits of earlier
    // purchases interleave with later usage and packages get drawn from).
    for (let i = jobs.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rand() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j], jobs[i]];
    }
    const started = Date.now();
    const queue = [...jobs];
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await job();
      }),
    );
    t.diagnostic(`300 requests over two processes in ${Date.now() - started} ms`);

    // No 5xx, and every answer is the success it should be.
    const all = [...usageAnswers.values(), ...purchaseAnswers.values()].flat();
    assert.equal(all.length, 300);
    const failures = all.filter((x) => x.status >= 500);
    assert.deepEqual(failures, [], 'no 5xx');
    for (const [callId, answers] of usageAnswers) {
      for (const x of answers) assert.equal(x.status, 200, `${callId}: ${x.text}`);
      if (answers.length === 2) {
        assert.deepEqual(answers[0].body, answers[1].body, `repeated ${callId} answers alike`);
      }
      assert.equal((answers[0].body as UsageBody).usage.seconds, usageSeconds.get(callId));
    }
    for (const [key, answers] of purchaseAnswers) {
      for (const x of answers) assert.equal(x.status, 201, `${key}: ${x.text}`);
      if (answers.length === 2) {
        const ids = answers.map((x) => (x.body as PurchaseBody).purchase.id);
        assert.equal(ids[0], ids[1], `repeated ${key} gives one purchase`);
        assert.deepEqual(answers[0].body, answers[1].body, `repeated ${key} answers alike`);
      }
    }

    // Both processes report the same balances.
    for (const id of accounts) {
      const [x, y] = await Promise.all(
        apis.map((api) => callApi(api.base, 'GET', `/v1/accounts/${id}/balance`)),
      );
      assert.equal(x.status, 200, x.text);
      assert.deepEqual(x.body, y.body);
    }

    // The ledger's rows and counters agree.
    const store = await PostgresStore.open(db.url, { poolMax: 2 });
    try {
      const audit = await store.audit();
      assert.equal(audit.accounts.length, 3);
      for (const acc of audit.accounts) {
        assert.equal(acc.extraRemainingSeconds, acc.sumPurchaseRemaining, acc.id);
        assert.equal(acc.activePackages, acc.countActive, acc.id);
      }
      for (const p of audit.purchases) {
        assert.equal(p.totalSeconds - p.allocated, p.remainingSeconds, p.id);
        assert.ok(p.remainingSeconds >= 0, p.id);
      }
      for (const c of audit.cycles) {
        assert.equal(c.planUsedSeconds, c.sumFromPlan, c.accountId);
        assert.equal(c.extraUsedSeconds, c.sumFromExtra, c.accountId);
        assert.equal(c.overageSeconds, c.sumOverage, c.accountId);
        assert.ok(c.planUsedSeconds <= 500 * 60, `${c.accountId}: plan used ≤ allowance`);
      }
      for (const u of audit.usages) {
        assert.equal(u.seconds, u.fromPlan + u.fromExtra + u.overage, u.callId);
      }
      assert.equal(audit.purchases.length, purchaseKeys.size, 'one purchase per key');
      assert.equal(audit.usages.length, usageSeconds.size, 'one usage per call id');
      const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
      assert.equal(
        sum(audit.usages.map((u) => u.seconds)),
        sum([...usageSeconds.values()]),
        'usage seconds counted once',
      );
      const drewFromExtra = sum(audit.cycles.map((c) => c.extraUsedSeconds));
      t.diagnostic(
        `drawn from packages: ${drewFromExtra} s; overage: ${sum(audit.cycles.map((c) => c.overageSeconds))} s`,
      );

      // The purchases, with the payment reference and key of each.
      const purchases = await store.transact(async (tx) =>
        (await Promise.all(accounts.map((id) => tx.listPurchases(id)))).flat(),
      );
      assert.deepEqual(
        new Set(purchases.map((p) => p.idempotencyKey)),
        new Set(purchaseKeys.keys()),
      );
      for (const p of purchases) {
        assert.equal(p.accountId, purchaseKeys.get(p.idempotencyKey)?.accountId);
        assert.equal(p.packageId, purchaseKeys.get(p.idempotencyKey)?.packageId);
      }
      const pending = await store.transact((tx) => tx.pendingIntents());
      assert.deepEqual(pending, [], 'no purchase left pending');

      // The test gateway's charge log, shared by both processes: every
      // purchase was charged (no minutes without a charge), and once.
      assert.ok(existsSync(chargesFile), 'the test gateway logged its charges');
      const charges = readFileSync(chargesFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { idempotencyKey: string; reference: string });
      const byKey = new Map<string, string[]>();
      for (const c of charges)
        byKey.set(c.idempotencyKey, [...(byKey.get(c.idempotencyKey) ?? []), c.reference]);
      for (const p of purchases) {
        const refs = byKey.get(await chargeKeyOf(p.accountId, p.idempotencyKey)) ?? [];
        assert.ok(refs.includes(p.paymentRef), `purchase ${p.idempotencyKey} was charged`);
      }
      assert.equal(byKey.size, purchaseKeys.size, 'no charge without a purchase');
      const doubled = [...byKey].filter(([, refs]) => refs.length > 1);
      t.diagnostic(
        `charges: ${charges.length} for ${byKey.size} keys; charged more than once: ${doubled.length}`,
      );
      const sample = doubled.slice(0, 3).map(([key, refs]) => `${key} (${refs.join(', ')})`);
      assert.equal(doubled.length, 0, `keys charged more than once, e.g. ${sample.join('; ')}`);
    } finally {
      await store.close();
    }
  },
);
