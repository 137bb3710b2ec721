import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { defaultCatalog, findPackage } from '../../server/domain/catalog.js';
import { chargeKeyOf } from '../../server/payments/gateway.js';
import { assertInvariants } from '../support/api.js';
import {
  freePort,
  killApi,
  cleanUpTargets,
  postgresTarget,
  sqliteTarget,
  startReadyApi,
  terminateApi,
  type ApiProcess,
  type LedgerTarget,
} from '../support/api-process.js';
import { allPurchases, assertResent, resendAll, send, type Op } from '../support/crash.js';
import { callApi } from '../support/http.js';
import { prng } from '../support/net.js';
import { reported } from '../support/reliability-report.js';

/**
 * Issue 6, crashes: one real API process under load from concurrent clients
 * (usage and purchases), SIGKILLed at random moments and restarted on the same
 * database, for SQLite and PostgreSQL. Afterwards every acknowledged write is
 * on the ledger and replays its first answer byte for byte, every
 * unacknowledged one re-sent once is applied exactly once, the ledger's
 * counters equal what its rows add up to, no second of usage is lost or
 * doubled, and the test gateway charged each purchase key once. Then a kill
 * between a purchase's charge and its credit (fault injection in main.ts).
 *
 * CRASH_SEED=<n> replays the random choices of a run (not the timing).
 */

const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
const KILLS = Number(process.env.CRASH_KILLS ?? 10);
after(cleanUpTargets);

const CLIENTS = 8;
const ACCOUNTS = ['acct-0', 'acct-1', 'acct-2', 'acct-3'];
const PLAN = 'starter';
const ALLOWANCE = defaultCatalog.plans.find((p) => p.id === PLAN)!.monthlyMinutes * 60;
const PACKAGES = ['small', 'medium', 'large'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

interface Charge {
  idempotencyKey: string;
  accountId: string;
  reference: string;
}

function readCharges(file: string): Charge[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Charge);
}

async function crashUnderLoad(t: TestContext, target: LedgerTarget): Promise<void> {
  const seed = SEED + (target.name === 'SQLite' ? 0 : 1);
  t.diagnostic(`seed ${seed} (CRASH_SEED=${SEED} replays the choices of this run)`);
  const rand = prng(seed);
  const chargesFile = join(target.dir, 'charges.jsonl');
  const port = await freePort();
  const options = { port, databaseUrl: target.databaseUrl, chargesFile };

  const started = Date.now();
  let api: ApiProcess = await startReadyApi(options);
  for (const id of ACCOUNTS) {
    const res = await callApi(api.base, 'PUT', `/v1/accounts/${id}`, { planId: PLAN });
    assert.equal(res.status, 201, res.text);
  }

  const ops: Op[] = [];
  let sent = 0;
  let kills = 0;
  let restarts = 0;
  /** Purchases charged but not credited at a kill, completed by start-up recovery. */
  let recovered = 0;
  let running = true;
  // Clients wait on `up` while the process is down (rather than spin on refusals).
  let up: Promise<void> = Promise.resolve();

  const client = async (n: number) => {
    for (let i = 0; running; i += 1) {
      await up;
      if (!running) break;
      const accountId = ACCOUNTS[Math.floor(rand() * ACCOUNTS.length)];
      const op: Op =
        rand() < 0.06
          ? {
              kind: 'purchase',
              accountId,
              id: `key-${seed}-${n}-${i}`,
              packageId: PACKAGES[Math.floor(rand() * PACKAGES.length)],
              lost: 0,
              failed: [],
            }
          : {
              kind: 'usage',
              accountId,
              id: `call-${seed}-${n}-${i}`,
              seconds: 1 + Math.floor(rand() * 1200),
              lost: 0,
              failed: [],
            };
      ops.push(op);
      sent += 1;
      const res = await send(api.base, op);
      if (res.status === 0) op.lost += 1;
      else if (res.status >= 200 && res.status < 300) op.acked = res;
      else op.failed.push(res);
    }
  };

  let reopen: () => void = () => undefined;
  const chaos = async () => {
    try {
      while (kills < KILLS) {
        await sleep(300 + Math.floor(rand() * 600));
        up = new Promise((r) => (reopen = r));
        const exit = await killApi(api);
        assert.equal(exit.signal, 'SIGKILL', `killed, not exited on its own:\n${api.output()}`);
        kills += 1;
        api = await startReadyApi(options);
        restarts += 1;
        recovered += Number(/Completed (\d+) purchase/.exec(api.output())?.[1] ?? 0);
        reopen();
      }
      await sleep(300);
    } finally {
      // Also when a restart failed: the clients must not wait for ever.
      running = false;
      reopen();
    }
  };

  await Promise.all([chaos(), ...Array.from({ length: CLIENTS }, (_, n) => client(n))]);
  const loadMs = Date.now() - started;

  const usage = ops.filter((o) => o.kind === 'usage');
  const purchases = ops.filter((o) => o.kind === 'purchase');
  const acked = ops.filter((o) => o.acked);
  const unacked = ops.filter((o) => !o.acked && o.failed.length === 0);
  const failures = ops.flatMap((o) => o.failed);
  let replayMismatches = 0;
  let resendFailures = 0;

  await reported(
    {
      tried: `SIGKILL under load, restart on the same database (${target.name})`,
      check:
        'acknowledged writes present and replayed byte for byte; unacknowledged applied at most once ' +
        '(exactly once after one re-send); invariants; Σ seconds conserved; one charge per purchase key',
      figures: () =>
        `${sent} requests (${usage.length} usage, ${purchases.length} purchases) from ${CLIENTS} clients, ` +
        `${acked.length} acknowledged, ${unacked.length} unacknowledged (re-sent), ` +
        `${kills} SIGKILLs, ${restarts} restarts, ${recovered} purchases completed by start-up recovery, ` +
        `${failures.length} error answers, ` +
        `${replayMismatches + resendFailures} replay/re-send failures, ${(loadMs / 1000).toFixed(1)} s of load`,
    },
    async () => {
      t.diagnostic(
        `${sent} requests, ${acked.length} acknowledged, ${unacked.length} lost, ${kills} kills in ${loadMs} ms`,
      );
      assert.equal(kills, KILLS);
      assert.ok(unacked.length > 0, 'some requests were in flight when the process was killed');
      assert.deepEqual(
        failures.map((f) => `${f.status} ${f.text}`),
        [],
        'no error answers (5xx or otherwise)',
      );

      // (a) Every acknowledged request, re-sent, answers its first answer byte for byte.
      // (b) Every unacknowledged one, re-sent once, succeeds.
      await resendAll(ops, CLIENTS, (op) => send(api.base, op));
      const ok = (op: Op) => (op.kind === 'usage' ? 200 : 201);
      replayMismatches = ops.filter(
        (o) => o.acked && (o.final!.status !== o.acked.status || o.final!.text !== o.acked.text),
      ).length;
      resendFailures = ops.filter((o) => !o.acked && o.final!.status !== ok(o)).length;
      assertResent(ops);

      // The last process shuts down cleanly; the ledger is then read directly.
      const exit = await terminateApi(api);
      assert.deepEqual(
        { code: exit.code, signal: exit.signal },
        { code: 0, signal: null },
        api.output(),
      );

      const store = await target.openStore();
      try {
        const audit = await store.audit();
        // (c) Invariants, to the second.
        assertInvariants(audit, () => ALLOWANCE);
        const sentSeconds = new Map(usage.map((o) => [o.id, o.seconds!]));
        assert.equal(audit.usages.length, sentSeconds.size, 'one usage per distinct callId');
        for (const u of audit.usages) {
          assert.equal(u.seconds, sentSeconds.get(u.callId), `usage ${u.callId}`);
        }
        assert.equal(
          sum(audit.usages.map((u) => u.seconds)),
          sum([...sentSeconds.values()]),
          'Σ seconds on the ledger = Σ seconds sent per distinct callId',
        );
        const cycles = audit.cycles;
        const used = sum(
          cycles.map((c) => c.planUsedSeconds + c.extraUsedSeconds + c.overageSeconds),
        );
        assert.equal(used, sum([...sentSeconds.values()]), 'cycle counters conserve every second');
        t.diagnostic(
          `seconds: plan ${sum(cycles.map((c) => c.planUsedSeconds))}, packages ${sum(cycles.map((c) => c.extraUsedSeconds))}, overage ${sum(cycles.map((c) => c.overageSeconds))}`,
        );

        // One purchase per key, the one its answers name.
        const rows = await allPurchases(store, ACCOUNTS);
        assert.equal(audit.purchases.length, purchases.length, 'one purchase per key answered 201');
        assert.equal(rows.length, purchases.length);
        // By the key each purchase is charged under at the gateway.
        const byKey = new Map(
          await Promise.all(
            rows.map(async (p) => [await chargeKeyOf(p.accountId, p.idempotencyKey), p] as const),
          ),
        );
        for (const op of purchases) {
          const row = byKey.get(await chargeKeyOf(op.accountId, op.id));
          assert.ok(row, `purchase ${op.id} is on the ledger`);
          assert.equal(row.id, op.final!.body.purchase.id, `purchase ${op.id}: the answered id`);
          assert.equal(row.packageId, op.packageId);
        }
        assert.deepEqual(
          await store.transact((tx) => tx.pendingIntents()),
          [],
          'no purchase left pending',
        );

        // (d) The gateway charged each purchased key exactly once, and nothing else.
        const charges = readCharges(chargesFile);
        const perKey = new Map<string, Charge[]>();
        for (const c of charges)
          perKey.set(c.idempotencyKey, [...(perKey.get(c.idempotencyKey) ?? []), c]);
        const doubled = [...perKey].filter(([, cs]) => cs.length > 1).map(([k]) => k);
        assert.deepEqual(doubled, [], 'no key charged twice');
        assert.deepEqual(new Set(perKey.keys()), new Set(byKey.keys()), 'one charge per purchase');
        for (const [key, row] of byKey) {
          assert.equal(
            row.paymentRef,
            perKey.get(key)![0].reference,
            `purchase ${key}: its charge`,
          );
        }
      } finally {
        await store.close();
      }
    },
  );
}

async function killBetweenChargeAndCredit(t: TestContext, target: LedgerTarget): Promise<void> {
  const chargesFile = join(target.dir, 'charges-fault.jsonl');
  const port = await freePort();
  const accountId = 'acct-fault';
  const key = `fault-key-${SEED}`;
  const chargeKey = await chargeKeyOf(accountId, key);
  const options = { port, databaseUrl: target.databaseUrl, chargesFile };
  const pkg = findPackage(defaultCatalog, 'medium');
  let kills = 0;
  let restarts = 0;
  let requests = 0;
  let path = 'none';

  await reported(
    {
      tried: `SIGKILL between a purchase's charge and its credit (${target.name})`,
      check:
        'the same key completes the purchase: minutes credited once, same purchase id, one charge',
      figures: () =>
        `${requests} requests, ${kills} SIGKILL (fault injection after the charge), ${restarts} restart, ` +
        `completed by ${path}`,
    },
    async () => {
      const faulty = await startReadyApi({
        ...options,
        env: { MINUTE_TOPUP_TEST_CRASH_AFTER_CHARGE: accountId },
      });
      requests += 1;
      const put = await callApi(faulty.base, 'PUT', `/v1/accounts/${accountId}`, { planId: PLAN });
      assert.equal(put.status, 201, put.text);

      requests += 1;
      const first = await callApi(
        faulty.base,
        'POST',
        `/v1/accounts/${accountId}/purchases`,
        { packageId: pkg.id },
        { 'Idempotency-Key': key },
      );
      assert.equal(first.status, 0, `no answer: the process died (${first.text})`);
      const exit = await faulty.exited;
      assert.equal(exit.signal, 'SIGKILL', faulty.output());
      kills += 1;

      // Between the two: the charge is on file, the intent pending, no minutes yet.
      assert.deepEqual(
        readCharges(chargesFile).map((c) => c.idempotencyKey),
        [chargeKey],
      );
      const store = await target.openStore();
      try {
        const pending = await store.transact((tx) => tx.pendingIntents());
        assert.deepEqual(
          pending.map((i) => [i.accountId, i.idempotencyKey, i.status]),
          [[accountId, key, 'pending']],
        );
        assert.deepEqual(await allPurchases(store, [accountId]), [], 'not credited yet');
      } finally {
        await store.close();
      }

      // Restarted without the fault: start-up recovery (or the retry below) completes it.
      const api = await startReadyApi(options);
      restarts += 1;
      const recovered = /Completed 1 purchase/.test(api.output());
      requests += 1;
      const listed = await callApi(api.base, 'GET', `/v1/accounts/${accountId}/purchases`);
      assert.equal(listed.status, 200, listed.text);
      requests += 1;
      const retry = await callApi(
        api.base,
        'POST',
        `/v1/accounts/${accountId}/purchases`,
        { packageId: pkg.id },
        { 'Idempotency-Key': key },
      );
      assert.equal(retry.status, 201, retry.text);
      path = recovered ? 'start-up recovery, then the retry replayed it' : 'the client retry';
      t.diagnostic(`completed by ${path}`);
      if (recovered) {
        assert.equal(listed.body.purchases.length, 1, 'recovered at start-up');
        assert.equal(retry.body.purchase.id, listed.body.purchases[0].id, 'same purchase id');
      }
      assert.equal(retry.body.purchase.totalSeconds, pkg.minutes * 60);
      assert.equal(retry.body.balance.extra.remainingSeconds, pkg.minutes * 60);
      requests += 1;
      const again = await callApi(
        api.base,
        'POST',
        `/v1/accounts/${accountId}/purchases`,
        { packageId: pkg.id },
        { 'Idempotency-Key': key },
      );
      assert.equal(again.text, retry.text, 'a further retry replays the answer');
      requests += 1;
      const balance = await callApi(api.base, 'GET', `/v1/accounts/${accountId}/balance`);
      assert.equal(balance.body.extra.remainingSeconds, pkg.minutes * 60, 'credited once');
      assert.equal(balance.body.extra.activePackages, 1);

      const stopped = await terminateApi(api);
      assert.equal(stopped.code, 0, api.output());
      assert.deepEqual(
        readCharges(chargesFile).map((c) => c.idempotencyKey),
        [chargeKey],
        'exactly one charge for the key',
      );
      const after = await target.openStore();
      try {
        const rows = await allPurchases(after, [accountId]);
        assert.equal(rows.length, 1, 'the purchase exists once');
        assert.equal(rows[0].id, retry.body.purchase.id);
        assert.equal(rows[0].paymentRef, readCharges(chargesFile)[0].reference);
        assert.deepEqual(await after.transact((tx) => tx.pendingIntents()), []);
        assertInvariants(await after.audit(), () => ALLOWANCE);
      } finally {
        await after.close();
      }
    },
  );
}

/**
 * Auto top-up: a usage leaves the balance under the threshold, its purchase
 * is queued and committed with it, and the process is SIGKILLed as the
 * charge is about to go out (fault injection in main.ts). The restart's
 * recovery makes that charge once and credits it; the usage's retry replays.
 */
async function killBetweenQueuedAutoTopupAndCharge(t: TestContext, target: LedgerTarget) {
  const port = await freePort();
  const chargesFile = join(target.dir, 'auto-charges.jsonl');
  const accountId = 'auto-topup';
  const options = { port, databaseUrl: target.databaseUrl, chargesFile };
  const pkg = findPackage(defaultCatalog, 'medium');
  const usage = { callId: 'the-call', seconds: ALLOWANCE - 30 * 60 };
  let requests = 0;
  let answered = 'no';
  await reported(
    {
      tried: `SIGKILL between an auto top-up's queued purchase and its charge (${target.name})`,
      check: 'the restart charges it once and credits it; the usage replays, nothing doubled',
      figures: () =>
        `${requests} requests, 1 SIGKILL (fault injection before the off-session charge), 1 restart; the usage was answered before the kill: ${answered}`,
    },
    async () => {
      const faulty = await startReadyApi({
        ...options,
        env: { MINUTE_TOPUP_TEST_CRASH_BEFORE_AUTO_CHARGE: accountId },
      });
      requests += 2;
      assert.equal(
        (await callApi(faulty.base, 'PUT', `/v1/accounts/${accountId}`, { planId: PLAN })).status,
        201,
      );
      const settings = { enabled: true, thresholdMinutes: 30, packageId: pkg.id, monthlyLimit: 2 };
      const put = await callApi(
        faulty.base,
        'PUT',
        `/v1/accounts/${accountId}/auto-topup`,
        settings,
      );
      assert.equal(put.status, 200, put.text);
      requests += 1;
      const first = await callApi(faulty.base, 'POST', `/v1/accounts/${accountId}/usage`, usage);
      // The usage committed before the charge began: answered, or cut off by the kill.
      assert.ok(first.status === 200 || first.status === 0, first.text);
      answered = first.status === 200 ? 'yes' : 'no';
      const exit = await faulty.exited;
      assert.equal(exit.signal, 'SIGKILL', faulty.output());
      assert.deepEqual(readCharges(chargesFile), [], 'nothing charged before the kill');
      const store = await target.openStore();
      try {
        const pending = await store.transact((tx) => tx.pendingIntents());
        assert.equal(pending.length, 1);
        assert.match(pending[0].idempotencyKey, /^auto top-up /);
        const row = await store.transact((tx) => tx.getAutoTopup(accountId));
        assert.equal(row?.pendingKey, pending[0].idempotencyKey);
        assert.equal(row?.cycleCount, 1);
      } finally {
        await store.close();
      }

      const api = await startReadyApi(options);
      assert.match(api.output(), /Completed 1 purchase/);
      requests += 1;
      const replay = await callApi(api.base, 'POST', `/v1/accounts/${accountId}/usage`, usage);
      assert.equal(replay.status, 200, replay.text);
      if (first.status === 200) assert.equal(replay.text, first.text, 'the usage replays');
      requests += 2;
      const balance = await callApi(api.base, 'GET', `/v1/accounts/${accountId}/balance`);
      assert.equal(balance.body.extra.remainingSeconds, pkg.minutes * 60, 'credited once');
      const auto = await callApi(api.base, 'GET', `/v1/accounts/${accountId}/auto-topup`);
      assert.equal(auto.body.cycleCount, 1);
      assert.equal(auto.body.status, 'active');
      const stopped = await terminateApi(api);
      assert.equal(stopped.code, 0, api.output());
      assert.equal(readCharges(chargesFile).length, 1, 'exactly one charge');
      const after = await target.openStore();
      try {
        const rows = await allPurchases(after, [accountId]);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].paymentRef, readCharges(chargesFile)[0].reference);
        assert.deepEqual(await after.transact((tx) => tx.pendingIntents()), []);
        assert.equal((await after.transact((tx) => tx.getAutoTopup(accountId)))?.pendingKey, null);
        assertInvariants(await after.audit(), () => ALLOWANCE);
      } finally {
        await after.close();
      }
      t.diagnostic(`usage answered before the kill: ${answered}`);
    },
  );
}

const targets: [string, LedgerTarget | null, LedgerTarget | null][] = [
  ['SQLite', sqliteTarget(), sqliteTarget()],
  ['PostgreSQL', await postgresTarget(), await postgresTarget()],
];

for (const [name, load, fault] of targets) {
  const skip =
    load && fault ? false : 'PostgreSQL not reachable — the PostgreSQL suites are skipped.';
  describe(`crashes (${name})`, () => {
    test(
      'SIGKILL at random moments under load: nothing acknowledged lost, nothing doubled',
      { skip, timeout: 120_000 },
      (t) => crashUnderLoad(t, load!),
    );
    test(
      'SIGKILL between the charge and the credit of a purchase: the same key completes it once',
      { skip, timeout: 60_000 },
      (t) => killBetweenChargeAndCredit(t, fault!),
    );
    test(
      "SIGKILL between an auto top-up's queued purchase and its charge: made once after the restart",
      { skip, timeout: 60_000 },
      (t) => killBetweenQueuedAutoTopupAndCharge(t, fault!),
    );
  });
}
