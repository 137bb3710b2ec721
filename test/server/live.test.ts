import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BalanceDto } from '../../contract/index.js';
import { fixture, SECRET, storeFactories, type Fixture } from '../support/api.js';
import { nextBalance, SseReader } from '../support/sse.js';
import { LiveBalances } from '../../server/live/balances.js';

/**
 * Live balance (DESIGN §9), in process: `GET /v1/accounts/:id/events` read
 * through `app.request` as the streaming Response it is, for every store —
 * the first event, one event per change in version order, `Last-Event-ID`,
 * 401/403 without a stream, the end at the token's expiry, bursts folded to
 * their final balance, the cap per account, no read for an account nobody
 * watches, a cancelled body or `closeAll` leaving no stream behind; and the
 * ledger version itself.
 */

/** How long an event may take on a loaded machine (in process they take milliseconds). */
const WAIT_MS = 10_000;

for (const factory of storeFactories) {
  describe(`live balance stream (${factory.name} store)`, () => {
    let f: Fixture;
    let token: string;
    let otherToken: string;
    const opened: SseReader[] = [];

    beforeEach(async () => {
      f = await fixture(await factory.open(), {
        // A beat this often also looks at the (manual) clock: expiry is seen at once.
        live: { heartbeatMs: 20, maxStreamsPerAccount: 3 },
      });
      assert.equal(
        (await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'starter' } })).status,
        201,
      );
      assert.equal(
        (await f.call('PUT', '/v1/accounts/other', { body: { planId: 'growth' } })).status,
        201,
      );
      token = (await f.call('POST', '/v1/sessions', { body: { accountId: 'acme' } })).body.token;
      otherToken = (await f.call('POST', '/v1/sessions', { body: { accountId: 'other' } })).body
        .token;
    });

    afterEach(async () => {
      for (const sse of opened.splice(0)) await sse.cancel();
      assert.equal(f.app.live.size, 0, 'no stream left behind');
      assert.deepEqual(f.unexpected, []);
    });

    /** Opens the stream; a 200 comes with its reader, any other status with its JSON body. */
    async function open(
      accountId = 'acme',
      options: { auth?: string | null; lastEventId?: string } = {},
    ): Promise<{ res: Response; sse: SseReader }> {
      const headers: Record<string, string> = {};
      const auth = options.auth === undefined ? SECRET : options.auth;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
      const res = await f.app.request(`/v1/accounts/${accountId}/events`, { headers });
      assert.equal(res.status, 200, res.status === 200 ? '' : await res.clone().text());
      const sse = new SseReader(res.body!);
      opened.push(sse);
      return { res, sse };
    }

    /** A request that must be refused, with no stream opened. */
    async function refused(accountId: string, auth: string | null): Promise<number> {
      const headers: Record<string, string> = auth === null ? {} : { authorization: auth };
      const res = await f.app.request(`/v1/accounts/${accountId}/events`, { headers });
      const body = (await res.json()) as { error: { code: string } };
      assert.match(res.headers.get('content-type') ?? '', /json/);
      assert.equal(
        body.error.code,
        res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : body.error.code,
      );
      assert.equal(f.app.live.size, 0, 'a refused request opens no stream');
      return res.status;
    }

    const balanceNow = async (accountId = 'acme') =>
      (await f.call('GET', `/v1/accounts/${accountId}/balance`)).body as BalanceDto;
    const use = (callId: string, seconds = 60, accountId = 'acme') =>
      f.call('POST', `/v1/accounts/${accountId}/usage`, { body: { callId, seconds } });
    const buy = (key: string, packageId = 'small') =>
      f.call('POST', '/v1/accounts/acme/purchases', {
        body: { packageId },
        headers: { 'idempotency-key': key },
      });
    /** The processor's reference of the payment of acme's purchase under `key`. */
    async function paymentRefOf(key: string): Promise<string> {
      const rows = await f.store.transact((tx) => tx.listPurchases('acme'));
      const row = rows.find((r) => r.idempotencyKey === key);
      assert.ok(row, `the purchase of ${key}`);
      return row.paymentRef;
    }
    /** Spies on the ledger's balance reads (the streams read through it). */
    function countBalanceReads(): { count: number } {
      const counter = { count: 0 };
      const ledger = f.app.ledger;
      const read = ledger.balance.bind(ledger);
      ledger.balance = (accountId: string) => {
        counter.count += 1;
        return read(accountId);
      };
      return counter;
    }

    it('sends the current balance first: event `balance`, id = version, data = GET …/balance', async () => {
      await use('before', 120);
      const { res, sse } = await open();
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.match(res.headers.get('cache-control') ?? '', /no-cache/);
      const first = await nextBalance(sse);
      assert.deepEqual(first, await balanceNow());
      assert.equal(first.version, 1, 'one change so far');
      assert.equal(first.plan.usedSeconds, 120);
      assert.equal(sse.retry, 1000, 'a reconnection delay for the client');
      assert.equal(f.app.live.size, 1);
      // A widget token of the account opens one as well, and keep-alive comments follow.
      const mine = await open('acme', { auth: token });
      assert.deepEqual(await nextBalance(mine.sse), first);
      await mine.sse.until(() => mine.sse.comments > 0, 'a keep-alive comment');
      assert.equal(f.app.live.size, 2);
    });

    it('sends one event per change, each with the next version: usage, purchase, plan change, refund', async () => {
      const { sse } = await open();
      let last = await nextBalance(sse);
      assert.equal(last.version, 0, 'a new account is at version 0');
      const step = async (what: string, change: () => Promise<unknown>) => {
        await change();
        const b = await nextBalance(sse);
        assert.equal(b.version, last.version + 1, `${what}: the next version`);
        assert.deepEqual(b, await balanceNow(), `${what}: the balance after it`);
        last = b;
        return b;
      };
      const used = await step('usage', async () => assert.equal((await use('c1', 90)).status, 200));
      assert.equal(used.plan.usedSeconds, 90);
      const bought = await step('purchase', async () =>
        assert.equal((await buy('key-1')).status, 201),
      );
      assert.equal(bought.extra.remainingSeconds, 50 * 60);
      const moved = await step('plan change', async () =>
        assert.equal(
          (await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'growth' } })).status,
          200,
        ),
      );
      assert.equal(moved.plan.id, 'growth');
      const paymentRef = await paymentRefOf('key-1');
      const refunded = await step('refund', async () =>
        assert.equal(
          await f.app.ledger.payments.paymentRefunded({
            eventId: 'evt_refund_1',
            type: 'charge.refunded',
            paymentRef,
          }),
          'applied',
        ),
      );
      assert.equal(refunded.extra.remainingSeconds, 0);
      assert.equal(refunded.version, 4);
      assert.equal(sse.waiting, 0, 'nothing else was sent');
    });

    it('keeps the version (and sends nothing) on reads, replays, a same-plan PUT, declined, waiting and failed purchases, a repeated refund', async () => {
      await use('c1', 60);
      await buy('key-1');
      const { sse } = await open();
      const start = await nextBalance(sse);
      assert.equal(start.version, 2);
      const other = await open('other');
      const otherStart = await nextBalance(other.sse);

      // Reads.
      await balanceNow();
      await f.call('GET', '/v1/accounts/acme/purchases');
      await f.call('GET', '/v1/accounts/acme/recommendation');
      // A replayed usage answers as the first time, at the first time's version.
      const replay = await use('c1', 60);
      assert.equal(replay.status, 200);
      assert.equal(replay.body.balance.version, 1);
      // A replayed purchase key.
      assert.equal((await buy('key-1')).status, 201);
      // The same plan again.
      assert.equal(
        (await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'starter' } })).status,
        200,
      );
      // A declined card.
      f.gateway.setDeclining('acme');
      assert.equal((await buy('key-declined')).status, 402);
      f.gateway.setDeclining('acme', false);
      // A payment that waits for the customer, who then fails to authenticate.
      f.gateway.setRequiresAction('acme');
      const waiting = await buy('key-3ds');
      assert.equal(waiting.status, 202);
      f.gateway.authenticate(waiting.body.clientSecret, false);
      assert.equal((await buy('key-3ds')).status, 402);
      f.gateway.setRequiresAction('acme', false);
      // A refund event seen twice, and one for a payment nobody knows.
      const paymentRef = await paymentRefOf('key-1');
      const refund = (eventId: string, ref: string) =>
        f.app.ledger.payments.paymentRefunded({
          eventId,
          type: 'charge.refunded',
          paymentRef: ref,
        });
      assert.equal(await refund('evt_r1', paymentRef), 'applied');
      const afterRefund = await nextBalance(sse);
      assert.equal(afterRefund.version, start.version + 1, 'the refund is one change');
      assert.equal(await refund('evt_r1', paymentRef), 'duplicate');
      assert.equal(await refund('evt_r2', paymentRef), 'applied', 'a second event, same purchase');
      assert.equal(await refund('evt_r3', 'test_ch_nobody'), 'unknown');

      assert.equal((await balanceNow()).version, start.version + 1);
      // The next change is the very next event: nothing was sent in between.
      await use('c2', 30);
      const next = await nextBalance(sse);
      assert.equal(next.version, start.version + 2);
      assert.equal(next.plan.usedSeconds, 90);
      assert.equal(sse.waiting, 0);
      // The other account heard nothing of all this.
      await use('o1', 30, 'other');
      assert.equal((await nextBalance(other.sse)).version, otherStart.version + 1);
    });

    it('honours Last-Event-ID: current → no first event; older → the current balance; not a version → the current balance (three streams: the cap)', async () => {
      await use('c1');
      await use('c2');
      const now = await balanceNow();
      assert.equal(now.version, 2);
      const current = await open('acme', { lastEventId: String(now.version) });
      const older = await open('acme', { lastEventId: '1' });
      const junk = await open('acme', { lastEventId: 'yesterday' });
      assert.deepEqual(await nextBalance(older.sse), now);
      assert.deepEqual(await nextBalance(junk.sse), now);
      await use('c3');
      // The first event the up-to-date client gets is the change after it.
      const changed = await nextBalance(current.sse);
      assert.equal(changed.version, 3);
      for (const s of [older, junk]) assert.equal((await nextBalance(s.sse)).version, 3);
      assert.equal(current.sse.received.length, 1);
    });

    it('a Last-Event-ID ahead of the ledger (a restored database, another deployment) still gets the current balance, and later changes', async () => {
      await use('c1');
      const ahead = await open('acme', { lastEventId: '50' });
      await use('c2');
      // The balance of version 2 must come (the current one first, or only the change).
      const seen: number[] = [];
      while (!seen.includes(2)) seen.push((await nextBalance(ahead.sse)).version);
      assert.deepEqual(seen.at(-1), 2);
    });

    it('answers 401 without a token, with a bad or an expired one, and 403 for another account, opening no stream', async () => {
      assert.equal(await refused('acme', null), 401);
      assert.equal(await refused('acme', 'Bearer not-a-token'), 401);
      assert.equal(await refused('acme', `Basic ${SECRET}`), 401);
      assert.equal(await refused('acme', `Bearer ${otherToken}`), 403);
      assert.equal(await refused('other', `Bearer ${token}`), 403);
      assert.equal(await refused('nobody', `Bearer ${token}`), 403);
      // An account that does not exist: 404 for the secret key, no stream.
      const missing = await f.app.request('/v1/accounts/nobody/events', {
        headers: { authorization: `Bearer ${SECRET}` },
      });
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      assert.equal(f.app.live.size, 0);
      f.clock.advance(16 * 60_000); // past the 15 minutes of the default token
      assert.equal(await refused('acme', `Bearer ${token}`), 401);
    });

    it('ends a token’s stream when the token expires (a secret-key stream stays)', async () => {
      const minted = await f.call('POST', '/v1/sessions', {
        body: { accountId: 'acme', ttlSeconds: 60 },
      });
      const widget = await open('acme', { auth: minted.body.token });
      const host = await open('acme');
      await nextBalance(widget.sse);
      await nextBalance(host.sse);
      assert.equal(f.app.live.size, 2);
      f.clock.advance(59_000);
      await widget.sse.until(() => widget.sse.comments >= 2, 'beats before the expiry');
      assert.equal(widget.sse.finished, false, 'still open before the expiry');
      f.clock.advance(1_000);
      assert.deepEqual(await widget.sse.ended(), [], 'ends at its expiry, with no further event');
      assert.equal(widget.sse.error, undefined, 'ends cleanly');
      assert.equal(f.app.live.size, 1);
      await use('c1');
      assert.equal((await nextBalance(host.sse)).version, 1, 'the secret-key stream goes on');
      assert.equal(host.sse.finished, false);
    });

    it('folds a burst of 50 concurrent usages: ids strictly increase and the last event is the final balance', async () => {
      const reads = countBalanceReads();
      const { sse } = await open();
      const first = await nextBalance(sse);
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => use(`burst-${i}`, 7)));
      assert.deepEqual(
        answers.map((a) => a.status),
        answers.map(() => 200),
      );
      const final = await balanceNow();
      assert.equal(final.version, first.version + 50, 'fifty changes, fifty versions');
      assert.equal(final.plan.usedSeconds, 350);
      const seen = [first];
      while (seen.at(-1)!.version < final.version) seen.push(await nextBalance(sse));
      for (let i = 1; i < seen.length; i += 1) {
        assert.ok(seen[i].version > seen[i - 1].version, `ids increase: ${seen[i].version}`);
      }
      assert.deepEqual(seen.at(-1), final);
      // One read on connect, at most one per change after it (fewer when folded); the GET above is one more.
      assert.ok(reads.count <= 1 + 50 + 1, `${reads.count} balance reads`);
      assert.equal(sse.waiting, 0);
    });

    it('keeps at most maxStreamsPerAccount streams per account, closing the oldest', async () => {
      const other = await open('other');
      const streams = [];
      for (let i = 0; i < 3; i += 1) {
        const s = await open();
        await nextBalance(s.sse);
        streams.push(s.sse);
      }
      assert.equal(f.app.live.size, 4);
      const newest = await open();
      await nextBalance(newest.sse);
      assert.deepEqual(await streams[0].ended(), [], 'the oldest is closed');
      assert.equal(f.app.live.size, 4, "3 of acme's, 1 of other's");
      await use('c1');
      for (const s of [...streams.slice(1), newest.sse]) {
        assert.equal((await nextBalance(s)).version, 1);
      }
      assert.equal(streams[0].received.length, 1);
      assert.equal(other.sse.finished, false, "another account's stream is not touched");
    });

    it('reads no balance for an account nobody watches, and one per change for a watched one', async () => {
      const reads = countBalanceReads();
      await use('o1', 30, 'other');
      await use('o2', 30, 'other');
      assert.equal(reads.count, 0, 'nobody watches: no read');
      const { sse } = await open();
      await nextBalance(sse);
      assert.equal(reads.count, 1, 'the first event');
      await use('c1');
      await nextBalance(sse);
      assert.equal(reads.count, 2, 'one read for the change');
      // Two streams of one account: still one read per change.
      const second = await open();
      await nextBalance(second.sse);
      assert.equal(reads.count, 3);
      await use('c2');
      await nextBalance(sse);
      await nextBalance(second.sse);
      assert.equal(reads.count, 4, 'one read serves every stream of the account');
      await use('o3', 30, 'other');
      // Once both are gone, the account costs nothing again.
      await sse.cancel();
      await second.sse.cancel();
      assert.equal(f.app.live.size, 0);
      await use('c3');
      await use('o4', 30, 'other');
      assert.equal(reads.count, 4);
    });

    it('removes a stream whose client cancels its body', async () => {
      const a = await open();
      const b = await open('other', { auth: otherToken });
      await nextBalance(a.sse);
      await nextBalance(b.sse);
      assert.equal(f.app.live.size, 2);
      await a.sse.cancel();
      assert.equal(f.app.live.size, 1);
      await b.sse.cancel();
      assert.equal(f.app.live.size, 0);
      await use('c1'); // nobody to tell
      assert.equal(f.app.live.size, 0);
    });

    it('ends every stream on closeAll(), and a stream opened afterwards at once', async () => {
      const streams = [
        await open(),
        await open(),
        await open('other'),
        await open('acme', { auth: token }),
      ];
      for (const s of streams) await nextBalance(s.sse);
      assert.equal(f.app.live.size, 4);
      f.app.live.closeAll();
      for (const s of streams) assert.deepEqual(await s.sse.ended(), []);
      assert.equal(f.app.live.size, 0);
      const late = await open();
      await late.sse.ended();
      assert.equal(f.app.live.size, 0);
    });

    it('sends a change committed while the stream opens (between its first read and its watch)', async () => {
      const ledger = f.app.ledger;
      const read = ledger.balance.bind(ledger);
      let injected = false;
      ledger.balance = async (accountId: string) => {
        const balance = await read(accountId);
        if (!injected) {
          // Another request commits after the snapshot, before the stream is watched.
          injected = true;
          await ledger.recordUsage('acme', 'during-open', 60);
        }
        return balance;
      };
      const { sse } = await open();
      // Ids only grow, and the balance after the change arrives.
      const seen: number[] = [];
      while (!seen.includes(1)) {
        const b = await nextBalance(sse);
        if (seen.length) assert.ok(b.version > seen.at(-1)!, 'ids increase');
        seen.push(b.version);
      }
    });
  });
}

describe('LiveBalances', () => {
  it('reads once for a version noticed twice (a commit, then its NOTIFY mid-read)', async () => {
    let version = 2;
    let reads = 0;
    let release: () => void = () => undefined;
    const live = new LiveBalances({
      maxStreamsPerAccount: 5,
      readBalance: async () => {
        reads += 1;
        if (version === 3) await new Promise<void>((r) => (release = r));
        return { version } as BalanceDto;
      },
    });
    const sent: number[] = [];
    live.watch('a', { send: (b) => sent.push(b.version), close: () => undefined }, -1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sent, [2], 'the first balance');
    version = 3;
    live.changed('a', 3); // this process's commit: a read starts
    live.changed('a', 3); // the same commit, back through NOTIFY while that read runs
    release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sent, [2, 3]);
    assert.equal(reads, 2, 'one read for the stream, one for the change');
  });
});
