import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { assertInvariants } from '../support/api.js';
import {
  freePort,
  cleanUpTargets,
  postgresTarget,
  sqliteTarget,
  startReadyApi,
  terminateApi,
  waitForOutput,
  type LedgerTarget,
} from '../support/api-process.js';
import { callApi } from '../support/http.js';
import { reportReliability } from '../support/reliability-report.js';

/**
 * Issue 6, shutdown: SIGTERM while purchases are in flight (the test gateway
 * takes 800 ms per charge). The purchases still answer 201, new connections
 * are refused at once, the process exits 0 soon after the last answer, and
 * the database was closed cleanly (SQLite: the WAL checkpointed away;
 * PostgreSQL: the pool ended, no session left), with the purchases on it.
 */

const GATEWAY_DELAY_MS = 800;
const IN_FLIGHT = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the error code of a fresh TCP connection to `port`, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

after(cleanUpTargets);

interface Target extends LedgerTarget {
  /** Whatever shows the database was closed cleanly; throws if it was not. */
  assertClosedCleanly(): Promise<string>;
}

function sqliteShutdownTarget(): Target {
  const target = sqliteTarget();
  const { databaseUrl } = target;
  return {
    ...target,
    async assertClosedCleanly() {
      // better-sqlite3's close checkpoints a WAL database and removes the -wal
      // file; a process that died leaves it behind, full.
      const wal = `${databaseUrl}-wal`;
      const size = existsSync(wal) ? statSync(wal).size : 0;
      assert.equal(size, 0, `the -wal file is gone or empty after a clean close (${size} bytes)`);
      return existsSync(wal) ? '-wal file empty' : '-wal file removed';
    },
  };
}

async function postgresShutdownTarget(): Promise<Target | null> {
  const target = await postgresTarget();
  if (!target) return null;
  const db = { url: target.databaseUrl };
  const name = new URL(db.url).pathname.slice(1);
  return {
    ...target,
    async assertClosedCleanly() {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        // The server notices a closed session at once; give it a moment anyway.
        let left = -1;
        for (let i = 0; i < 20 && left !== 0; i += 1) {
          const { rows } = await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'minute-topup'`,
            [name],
          );
          left = Number(rows[0].n);
          if (left !== 0) await sleep(50);
        }
        assert.equal(left, 0, 'no session of the API process left on the database');
      } finally {
        await client.end();
      }
      return 'pool ended, no session left';
    },
  };
}

async function sigtermWithPurchasesInFlight(t: TestContext, target: Target): Promise<void> {
  const chargesFile = join(target.dir, 'charges.jsonl');
  const port = await freePort();
  const accountId = 'acct-shutdown';
  let answered = 0;
  let refused = '';
  let exitMs = -1;
  let afterLastAnswerMs = -1;
  let exitCode: number | null = null;
  let closed = '';
  let held = false;
  try {
    const api = await startReadyApi({
      port,
      databaseUrl: target.databaseUrl,
      chargesFile,
      env: { MINUTE_TOPUP_TEST_GATEWAY_DELAY_MS: String(GATEWAY_DELAY_MS) },
    });
    const put = await callApi(api.base, 'PUT', `/v1/accounts/${accountId}`, { planId: 'starter' });
    assert.equal(put.status, 201, put.text);
    // A usage answered before the signal, on a keep-alive connection that then sits idle.
    const usage = await callApi(api.base, 'POST', `/v1/accounts/${accountId}/usage`, {
      callId: 'before-sigterm',
      seconds: 90,
    });
    assert.equal(usage.status, 200, usage.text);

    let lastAnswerAt = 0;
    const purchases = Array.from({ length: IN_FLIGHT }, (_, i) =>
      callApi(
        api.base,
        'POST',
        `/v1/accounts/${accountId}/purchases`,
        { packageId: 'small' },
        { 'Idempotency-Key': `shutdown-${i}` },
      ).then((answer) => {
        lastAnswerAt = Date.now();
        return answer;
      }),
    );
    await sleep(200);
    const signalled = Date.now();
    const exit = terminateApi(api, 10_000);
    await waitForOutput(api, /SIGTERM: finishing in-flight requests/, 5_000);
    refused = await tryConnect(port);

    const answers = await Promise.all(purchases);
    answered = answers.filter((a) => a.status === 201).length;
    const done = await exit;
    exitCode = done.code;
    exitMs = done.ms;
    afterLastAnswerMs = signalled + done.ms - lastAnswerAt;
    t.diagnostic(
      `exit ${done.code} ${done.ms} ms after SIGTERM, ${afterLastAnswerMs} ms after the last answer; new connection: ${refused}`,
    );

    for (const a of answers) {
      assert.equal(a.status, 201, `an in-flight purchase finished: ${a.error ?? a.text}`);
      assert.ok(a.body.purchase.id && a.body.balance, a.text);
    }
    assert.equal(refused, 'ECONNREFUSED', 'no new connection once SIGTERM arrived');
    assert.deepEqual(
      { code: done.code, signal: done.signal, forced: done.forced },
      { code: 0, signal: null, forced: false },
      api.output(),
    );
    assert.ok(
      lastAnswerAt - signalled >= GATEWAY_DELAY_MS - 200 - 50,
      'the purchases were still in flight when SIGTERM arrived',
    );
    assert.ok(
      afterLastAnswerMs < 2_000,
      `exits soon after the last answer (${afterLastAnswerMs} ms)`,
    );
    assert.doesNotMatch(api.output(), /did not close cleanly|unexpected error/);

    closed = await target.assertClosedCleanly();
    const store = await target.openStore();
    try {
      const rows = await store.transact((tx) => tx.listPurchases(accountId));
      assert.deepEqual(
        rows.map((p) => p.id).sort(),
        answers.map((a) => a.body.purchase.id).sort(),
        'the purchases answered are the ones on the ledger',
      );
      assert.deepEqual(await store.transact((tx) => tx.pendingIntents()), []);
      const audit = await store.audit();
      assertInvariants(audit, () => 500 * 60);
      assert.deepEqual(
        audit.usages.map((u) => [u.callId, u.seconds]),
        [['before-sigterm', 90]],
      );
      const charges = readFileSync(chargesFile, 'utf8').split('\n').filter(Boolean);
      assert.equal(charges.length, IN_FLIGHT, 'one charge per purchase');
    } finally {
      await store.close();
    }
    held = true;
  } finally {
    reportReliability({
      tried: `SIGTERM with ${IN_FLIGHT} purchases in flight (${target.name})`,
      figures:
        `${IN_FLIGHT} in-flight purchases (gateway ${GATEWAY_DELAY_MS} ms), ${answered} answered 201, ` +
        `new connection ${refused || 'not tried'}, exit code ${exitCode} after ${exitMs} ms ` +
        `(${afterLastAnswerMs} ms after the last answer), ${closed || 'close not checked'}`,
      check:
        'in-flight requests finish; new connections refused; exit 0; database closed cleanly with the purchases',
      held,
    });
  }
}

const targets: [string, Target | null][] = [
  ['SQLite', sqliteShutdownTarget()],
  ['PostgreSQL', await postgresShutdownTarget()],
];

for (const [name, target] of targets) {
  describe(`shutdown (${name})`, () => {
    test(
      'SIGTERM lets in-flight requests finish, refuses new ones, closes the database and exits 0',
      {
        skip: target ? false : 'PostgreSQL not reachable — the PostgreSQL suites are skipped.',
        timeout: 30_000,
      },
      (t) => sigtermWithPurchasesInFlight(t, target!),
    );
  });
}
