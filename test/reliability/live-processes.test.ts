import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { BalanceDto } from '../../contract/index.js';
import {
  cleanUpTargets,
  freePort,
  postgresTarget,
  sqliteTarget,
  startReadyApi,
  terminateApi,
  waitForOutput,
  type ApiProcess,
  type LedgerTarget,
} from '../support/api-process.js';
import { API_SECRET, callApi } from '../support/http.js';
import { adminUrl } from '../support/pg.js';
import { reported } from '../support/reliability-report.js';
import { nextBalance, SseReader } from '../support/sse.js';

/**
 * Live balance (DESIGN §9) across real API processes: a change recorded
 * through one process reaches a stream held by another on the same
 * PostgreSQL database (LISTEN/NOTIFY); the LISTEN connection killed by the
 * database comes back, refreshes every open stream and carries later
 * changes; SIGTERM ends open streams and the process exits 0 at once, and
 * after a restart a client reconnecting with `Last-Event-ID` gets the
 * current balance.
 */

after(cleanUpTargets);

/** How long an event may take on a loaded machine (the design says within a second). */
const EVENT_WAIT_MS = 15_000;

interface Stream {
  sse: SseReader;
  close(): void;
}

const streams: Stream[] = [];
after(() => {
  for (const s of streams.splice(0)) s.close();
});

/** Opens `GET /v1/accounts/:id/events` on a real process; it must answer 200. */
async function openStream(
  api: ApiProcess,
  accountId: string,
  options: { token?: string; lastEventId?: string } = {},
): Promise<Stream> {
  const controller = new AbortController();
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.token ?? API_SECRET}`,
  };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const timer = setTimeout(() => controller.abort(), 15_000);
  const res = await fetch(`${api.base}/v1/accounts/${accountId}/events`, {
    headers,
    signal: controller.signal,
  });
  clearTimeout(timer);
  assert.equal(res.status, 200, res.status === 200 ? '' : await res.text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const stream = { sse: new SseReader(res.body!, EVENT_WAIT_MS), close: () => controller.abort() };
  streams.push(stream);
  return stream;
}

/** The balance without the arrival time. */
function dto(event: BalanceDto & { at: number }): BalanceDto {
  const { at: _at, ...balance } = event;
  return balance;
}

/** The next balance, with when it arrived (`at`, `performance.now()`). */
async function nextTimed(sse: SseReader): Promise<BalanceDto & { at: number }> {
  const balance = await nextBalance(sse);
  return { ...balance, at: sse.last!.at };
}

/** Events until one at `version` or later; ids must grow on the way. */
async function balanceAt(sse: SseReader, version: number): Promise<BalanceDto & { at: number }> {
  let last = -1;
  for (;;) {
    const b = await nextTimed(sse);
    assert.ok(b.version > last, `ids increase (${last} → ${b.version})`);
    last = b.version;
    if (b.version >= version) return b;
  }
}

async function mintToken(api: ApiProcess, accountId: string): Promise<string> {
  const minted = await callApi(api.base, 'POST', '/v1/sessions', { accountId });
  assert.equal(minted.status, 201, minted.text);
  return minted.body.token as string;
}

async function putAccount(api: ApiProcess, accountId: string, planId = 'growth'): Promise<void> {
  const put = await callApi(api.base, 'PUT', `/v1/accounts/${accountId}`, { planId });
  assert.ok(put.status === 201 || put.status === 200, put.text);
}

async function recordUsage(
  api: ApiProcess,
  accountId: string,
  callId: string,
  seconds = 30,
): Promise<BalanceDto & { at: number }> {
  const used = await callApi(api.base, 'POST', `/v1/accounts/${accountId}/usage`, {
    callId,
    seconds,
  });
  const at = performance.now();
  assert.equal(used.status, 200, used.text);
  return { ...(used.body.balance as BalanceDto), at };
}

async function balanceOf(api: ApiProcess, accountId: string): Promise<BalanceDto> {
  const read = await callApi(api.base, 'GET', `/v1/accounts/${accountId}/balance`);
  assert.equal(read.status, 200, read.text);
  return read.body as BalanceDto;
}

function startOn(target: LedgerTarget, port: number): Promise<ApiProcess> {
  return startReadyApi({
    port,
    databaseUrl: target.databaseUrl,
    chargesFile: `${target.dir}/charges.jsonl`,
    cwd: target.dir,
  });
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x: number) => `${Math.round(x)} ms`;

/** The backends of the LISTEN connections (`minute-topup-notices`) on a database. */
async function listeners(admin: pg.Client, database: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'minute-topup-notices' AND datname = $1`,
    [database],
  );
  return rows.map((r) => r.pid);
}

/** Polls until `count` LISTEN connections other than `gone` are up (after a reconnection). */
async function listenersBack(
  admin: pg.Client,
  database: string,
  gone: number[],
  count = 2,
): Promise<number[]> {
  const deadline = Date.now() + EVENT_WAIT_MS;
  for (;;) {
    const pids = (await listeners(admin, database)).filter((pid) => !gone.includes(pid));
    if (pids.length >= count) return pids;
    assert.ok(Date.now() < deadline, `${count} LISTEN connections back (${pids.length} now)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pgTarget = await postgresTarget();
const pgSkip = pgTarget ? false : 'PostgreSQL not reachable — the PostgreSQL suites are skipped.';

describe('live balance across API processes (PostgreSQL)', () => {
  let a: ApiProcess;
  let b: ApiProcess;

  test(
    'a stream on process A receives the balance after a usage recorded through process B, and the other way round',
    { skip: pgSkip, timeout: 120_000 },
    async () => {
      const target = pgTarget!;
      [a, b] = await Promise.all([
        freePort().then((port) => startOn(target, port)),
        freePort().then((port) => startOn(target, port)),
      ]);
      const latencies: number[] = [];
      const ROUNDS = 20;
      await reported(
        {
          tried: 'Live balance across two API processes on one database (PostgreSQL)',
          check:
            'each usage through one process reaches the stream held by the other, in version order, at the balance GET shows',
          figures: () =>
            latencies.length
              ? `${latencies.length} usages (B → stream on A, A → stream on B): usage answered → event p50 ${ms(percentile(latencies, 50))}, max ${ms(Math.max(...latencies))}`
              : 'no event measured',
        },
        async () => {
          await putAccount(b, 'acme');
          await putAccount(a, 'beta');
          // A widget token minted by B opens a stream on A: one secret, one ledger.
          const onA = await openStream(a, 'acme', { token: await mintToken(b, 'acme') });
          const onB = await openStream(b, 'beta', { token: await mintToken(a, 'beta') });
          const firstA = await nextTimed(onA.sse);
          const firstB = await nextTimed(onB.sse);
          assert.equal(firstA.version, 0);
          assert.equal(firstB.version, 0);
          for (let i = 1; i <= ROUNDS; i += 1) {
            const [writer, reader, account] =
              i % 2 ? [b, onA, 'acme'] : ([a, onB, 'beta'] as const);
            const answer = await recordUsage(writer, account, `call-${i}`);
            const event = await balanceAt(reader.sse, answer.version);
            latencies.push(Math.max(0, event.at - answer.at));
            assert.equal(event.version, answer.version, 'no change skipped, none folded');
          }
          const lastA = JSON.parse(onA.sse.received.at(-1)!.data) as BalanceDto;
          assert.deepEqual(lastA, await balanceOf(b, 'acme'), 'the balance every process reads');
          assert.equal(lastA.version, ROUNDS / 2);
          assert.equal(JSON.parse(onB.sse.received.at(-1)!.data).version, ROUNDS / 2);
          onA.close();
          onB.close();
        },
      );
    },
  );

  test(
    'the LISTEN connection killed by the database: it reconnects, every open stream gets the balance again, later changes still arrive',
    { skip: pgSkip, timeout: 120_000 },
    async () => {
      assert.ok(a && b, 'the processes of the test before');
      const database = new URL(pgTarget!.databaseUrl).pathname.slice(1);
      const admin = new pg.Client({ connectionString: adminUrl });
      admin.on('error', () => undefined);
      await admin.connect();
      const reconnects: number[] = [];
      try {
        await reported(
          {
            tried: 'LISTEN connection of both processes terminated by the database (PostgreSQL)',
            check:
              'both reconnect; the open stream gets the current balance again; a change made during and after the loss arrives',
            figures: () =>
              reconnects.length
                ? `${reconnects.length} kills of 2 connections; stream refreshed after ${reconnects.map(ms).join(', ')}`
                : 'no reconnection measured',
          },
          async () => {
            let pids = await listeners(admin, database);
            assert.equal(pids.length, 2, 'one LISTEN connection per process');
            const onA = await openStream(a, 'acme');
            const start = await nextTimed(onA.sse);
            const kill = async () => {
              const { rows } = await admin.query<{ pid: number }>(
                `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = 'minute-topup-notices' AND datname = $1`,
                [database],
              );
              assert.deepEqual(
                rows.map((r) => r.pid).sort(),
                [...pids].sort(),
                'both processes were listening',
              );
              return performance.now();
            };

            // 1. Nothing changes meanwhile: the stream gets the same version again (a refresh).
            const killed = await kill();
            const refreshed = await nextTimed(onA.sse);
            reconnects.push(refreshed.at - killed);
            assert.equal(refreshed.version, start.version, 'the current balance, again');
            // Then a change through B arrives at A over the new connection.
            const after1 = await recordUsage(b, 'acme', 'after-kill-1');
            assert.equal((await balanceAt(onA.sse, after1.version)).version, after1.version);
            await waitForOutput(a, /connection for live balances was lost/, EVENT_WAIT_MS);
            // B may come back a little later than A.
            pids = await listenersBack(admin, database, pids);

            // 2. A change lands while the connections are down: it is not lost.
            const killedAgain = await kill();
            const during = await recordUsage(b, 'acme', 'during-kill-2');
            const seen = await balanceAt(onA.sse, during.version);
            reconnects.push(seen.at - killedAgain);
            assert.deepEqual(dto(seen), await balanceOf(a, 'acme'), 'the balance after the change');
            // Both processes listen again; a later change still arrives.
            await listenersBack(admin, database, pids);
            const later = await recordUsage(b, 'acme', 'after-kill-2');
            assert.equal((await balanceAt(onA.sse, later.version)).version, later.version);
            onA.close();
          },
        );
      } finally {
        await admin.end();
      }
      await Promise.all([terminateApi(a), terminateApi(b)]);
    },
  );
});

describe('live balance and restarts (SQLite)', () => {
  test(
    'SIGTERM ends open streams and exits 0 at once; after a restart Last-Event-ID gets the current balance',
    { timeout: 120_000 },
    async () => {
      const target = sqliteTarget();
      const port = await freePort();
      let stopped: Awaited<ReturnType<typeof terminateApi>> | undefined;
      let open = 0;
      await reported(
        {
          tried: 'SIGTERM with open live streams, then a restart on the same file (SQLite)',
          check:
            'every stream ends, exit 0 before the 10 s hard stop; a reconnect with Last-Event-ID gets the balance it missed, one that is current only the next change',
          figures: () =>
            stopped
              ? `${open} streams open; exit ${stopped.code ?? stopped.signal} after ${ms(stopped.ms)}`
              : 'not stopped',
        },
        async () => {
          let api = await startOn(target, port);
          await putAccount(api, 'acme');
          await putAccount(api, 'beta');
          await recordUsage(api, 'acme', 'before-1');
          const token = await mintToken(api, 'acme');
          const opened = [
            await openStream(api, 'acme'),
            await openStream(api, 'acme', { token }),
            await openStream(api, 'beta'),
          ];
          open = opened.length;
          const firsts = [];
          for (const s of opened) firsts.push(await nextTimed(s.sse));
          const seen = firsts[1].version;
          assert.equal(seen, 1);

          stopped = await terminateApi(api);
          assert.equal(stopped.forced, false, 'no SIGKILL needed');
          // Exit 0 is before the server's 10 s hard stop (which exits 1); how long it took is in the report.
          assert.equal(stopped.code, 0, api.output());
          for (const s of opened) {
            assert.deepEqual(await s.sse.ended(), [], 'the stream ended, with no further event');
            assert.equal(s.sse.error, undefined, `ended cleanly (${String(s.sse.error)})`);
          }

          api = await startOn(target, port);
          // A change the client missed while it was away.
          const missed = await recordUsage(api, 'acme', 'while-away');
          assert.equal(missed.version, seen + 1);
          const back = await openStream(api, 'acme', {
            token: await mintToken(api, 'acme'),
            lastEventId: String(seen),
          });
          const current = await nextTimed(back.sse);
          assert.deepEqual(dto(current), await balanceOf(api, 'acme'));
          assert.equal(current.version, missed.version);
          // One already up to date gets no first event: the next change is its first.
          const upToDate = await openStream(api, 'acme', { lastEventId: String(missed.version) });
          const next = await recordUsage(api, 'acme', 'after-restart');
          assert.equal((await nextTimed(upToDate.sse)).version, next.version);
          assert.equal(upToDate.sse.received.length, 1);
          assert.equal((await nextTimed(back.sse)).version, next.version);
          const again = await terminateApi(api);
          assert.equal(again.code, 0);
          await back.sse.ended();
          await upToDate.sse.ended();
        },
      );
    },
  );
});
