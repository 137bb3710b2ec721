/**
 * Operators and roles over HTTP, on every store (DESIGN §11): view-only
 * tokens, grants, refunds (pro rata, through the gateway, owed while it is
 * away), the usage history with its receipts, and the ledger export.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { PurchaseChangeDto, UsagePageDto } from '../../contract/index.js';
import { defaultCatalog, findPackage } from '../../server/domain/index.js';
import { refundKeyOf } from '../../server/payments/gateway.js';
import type { LedgerStore } from '../../server/store/types.js';
import { assertInvariants, fixture, SECRET, storeFactories, type Fixture } from '../support/api.js';

const MEDIUM = findPackage(defaultCatalog, 'medium');
const MEDIUM_SECONDS = MEDIUM.minutes * 60;

/** The CSV export of an account, as text (the fixture's `call` reads JSON). */
async function exportOf(f: Fixture, accountId: string, auth = 'secret') {
  const res = await f.app.request(`/v1/accounts/${accountId}/ledger.csv`, {
    headers: { authorization: `Bearer ${auth === 'secret' ? SECRET : auth}` },
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The rows of a CSV export (no quoted cells here), header first. */
const csvRows = (text: string) =>
  text
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));

for (const factory of storeFactories) {
  describe(`operators (${factory.name} store)`, () => {
    let store: LedgerStore;
    let f: Fixture;
    let n = 0;
    const key = () => `op-${++n}`;

    const grant = (accountId: string, body: unknown, idempotencyKey = key()) =>
      f.call('POST', `/v1/accounts/${accountId}/grants`, {
        body,
        headers: { 'idempotency-key': idempotencyKey },
      });
    const refund = (accountId: string, purchaseId: string, idempotencyKey = key()) =>
      f.call('POST', `/v1/accounts/${accountId}/purchases/${purchaseId}/refund`, {
        headers: { 'idempotency-key': idempotencyKey },
      });
    const buy = async (accountId: string, packageId = 'medium') => {
      const res = await f.call('POST', `/v1/accounts/${accountId}/purchases`, {
        body: { packageId },
        headers: { 'idempotency-key': key() },
      });
      assert.equal(res.status, 201);
      return res.body.purchase.id as string;
    };
    const use = async (accountId: string, callId: string, seconds: number) => {
      const res = await f.call('POST', `/v1/accounts/${accountId}/usage`, {
        body: { callId, seconds },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const token = async (accountId: string, scope?: 'buy' | 'view') => {
      const res = await f.call('POST', '/v1/sessions', {
        body: scope ? { accountId, scope } : { accountId },
      });
      assert.equal(res.status, 201);
      return res.body as { token: string; scope: string };
    };

    beforeEach(async () => {
      store = await factory.open();
      f = await fixture(store);
      // Starter: 500 plan minutes.
      assert.equal(
        (await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'starter' } })).status,
        201,
      );
      assert.equal(
        (await f.call('PUT', '/v1/accounts/other', { body: { planId: 'starter' } })).status,
        201,
      );
    });

    describe('view-only tokens', () => {
      it('are minted on request, say their scope, read everything and spend nothing', async () => {
        const buyer = await token('acme');
        assert.equal(buyer.scope, 'buy', 'buy is the default');
        const viewer = await token('acme', 'view');
        assert.equal(viewer.scope, 'view');
        const purchaseId = await buy('acme');
        await use('acme', 'call-1', 90);
        for (const path of ['balance', 'purchases', 'usage', 'recommendation']) {
          const res = await f.call('GET', `/v1/accounts/acme/${path}`, { auth: viewer.token });
          assert.equal(res.status, 200, path);
        }
        const before = await store.audit();
        const bought = await f.call('POST', '/v1/accounts/acme/purchases', {
          body: { packageId: 'small' },
          headers: { 'idempotency-key': key() },
          auth: viewer.token,
        });
        assert.equal(bought.status, 403);
        assert.equal(bought.body.error.code, 'forbidden');
        assert.match(bought.body.error.message, /only view/);
        assert.equal(f.gateway.chargeCount, 1, 'the viewer charged nothing');
        // Operators' routes need the secret key, whatever the token's scope.
        for (const auth of [viewer.token, buyer.token]) {
          assert.equal((await grant('acme', { minutes: 5, reason: 'x' }, key())).status, 201);
          const viaToken = await f.call('POST', '/v1/accounts/acme/grants', {
            body: { minutes: 5, reason: 'x' },
            headers: { 'idempotency-key': key() },
            auth,
          });
          assert.equal(viaToken.status, 403);
          const refunded = await f.call(
            'POST',
            `/v1/accounts/acme/purchases/${purchaseId}/refund`,
            {
              headers: { 'idempotency-key': key() },
              auth,
            },
          );
          assert.equal(refunded.status, 403);
          assert.equal((await exportOf(f, 'acme', auth)).status, 403);
        }
        assert.equal((await store.audit()).purchases.length, before.purchases.length + 2);
        // A buy token still buys.
        const ok = await f.call('POST', '/v1/accounts/acme/purchases', {
          body: { packageId: 'small' },
          headers: { 'idempotency-key': key() },
          auth: buyer.token,
        });
        assert.equal(ok.status, 201);
      });

      it('refuses an unknown scope', async () => {
        const res = await f.call('POST', '/v1/sessions', {
          body: { accountId: 'acme', scope: 'admin' },
        });
        assert.equal(res.status, 400);
        assert.match(res.body.error.message, /scope/);
      });
    });

    describe('grants', () => {
      it('adds free minutes drawn oldest first with the packages, shown with their reason', async () => {
        const bought = await buy('acme');
        const res = await grant('acme', { minutes: 10, reason: 'Sorry for the outage' });
        assert.equal(res.status, 201);
        const body = res.body as PurchaseChangeDto;
        assert.deepEqual(
          {
            kind: body.purchase.kind,
            packageId: body.purchase.packageId,
            name: body.purchase.name,
            reason: body.purchase.reason,
            priceMinor: body.purchase.priceMinor,
            totalSeconds: body.purchase.totalSeconds,
            status: body.purchase.status,
          },
          {
            kind: 'grant',
            packageId: 'grant',
            name: 'Grant',
            reason: 'Sorry for the outage',
            priceMinor: 0,
            totalSeconds: 600,
            status: 'active',
          },
        );
        assert.equal(body.balance.extra.remainingSeconds, MEDIUM_SECONDS + 600);
        assert.equal(body.balance.extra.activePackages, 2);
        assert.equal(f.gateway.chargeCount, 1, 'a grant charges nothing');
        // The plan (500 min), then the package bought first, then the grant.
        const usage = await use('acme', 'long', 500 * 60 + MEDIUM_SECONDS + 30);
        assert.deepEqual(usage.usage.fromExtra, [
          { purchaseId: bought, seconds: MEDIUM_SECONDS },
          { purchaseId: body.purchase.id, seconds: 30 },
        ]);
        const list = await f.call('GET', '/v1/accounts/acme/purchases');
        assert.deepEqual(
          list.body.purchases.map((p: { kind: string; status: string }) => [p.kind, p.status]),
          [
            ['grant', 'active'],
            ['package', 'used'],
          ],
        );
        assertInvariants(await store.audit());
      });

      it('is once per key: the same grant replays, other figures under the key are a 422', async () => {
        const first = await grant('acme', { minutes: 10, reason: 'goodwill' }, 'g-1');
        const again = await grant('acme', { minutes: 10, reason: 'goodwill' }, 'g-1');
        assert.equal(again.status, 201);
        assert.deepEqual(again.body, first.body);
        const before = await store.audit();
        for (const body of [
          { minutes: 11, reason: 'goodwill' },
          { minutes: 10, reason: 'other' },
        ]) {
          const res = await grant('acme', body, 'g-1');
          assert.equal(res.status, 422);
          assert.equal(res.body.error.code, 'idempotency_key_reused');
        }
        // A purchase's key cannot grant, nor a grant's key buy.
        await f.call('POST', '/v1/accounts/acme/purchases', {
          body: { packageId: 'small' },
          headers: { 'idempotency-key': 'p-1' },
        });
        const afterBuy = await store.audit();
        assert.equal((await grant('acme', { minutes: 1, reason: 'x' }, 'p-1')).status, 422);
        const buyWithGrantKey = await f.call('POST', '/v1/accounts/acme/purchases', {
          body: { packageId: 'small' },
          headers: { 'idempotency-key': 'g-1' },
        });
        assert.equal(buyWithGrantKey.status, 422);
        assert.deepEqual(await store.audit(), afterBuy);
        assert.equal(before.purchases.length + 1, afterBuy.purchases.length);
      });

      it('grants once under 10 concurrent requests with one key', async () => {
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => grant('acme', { minutes: 7, reason: 'race' }, 'g-race')),
        );
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([201]));
        assert.equal(new Set(answers.map((a) => a.body.purchase.id)).size, 1);
        const balance = await f.call('GET', '/v1/accounts/acme/balance');
        assert.equal(balance.body.extra.remainingSeconds, 7 * 60);
        assertInvariants(await store.audit());
      });

      it('refuses bad input with a clear error and changes nothing', async () => {
        const before = await store.audit();
        const cases: [unknown, RegExp][] = [
          [{ minutes: 0, reason: 'x' }, /minutes/],
          [{ minutes: 1.5, reason: 'x' }, /minutes/],
          [{ minutes: 100_001, reason: 'x' }, /minutes/],
          [{ minutes: 5 }, /reason/],
          [{ minutes: 5, reason: '   ' }, /reason/],
          [{ minutes: 5, reason: 'x'.repeat(201) }, /reason/],
          [{ minutes: 5, reason: 'bad\u0000byte' }, /reason/],
          [{ minutes: 5, reason: 'x', priceMinor: 0 }, /priceMinor|unrecognized/i],
        ];
        for (const [body, message] of cases) {
          const res = await grant('acme', body);
          assert.equal(res.status, 400, JSON.stringify(body));
          assert.match(res.body.error.message, message);
        }
        const noKey = await f.call('POST', '/v1/accounts/acme/grants', {
          body: { minutes: 5, reason: 'x' },
        });
        assert.equal(noKey.status, 400);
        assert.match(noKey.body.error.message, /Idempotency-Key/);
        const unknown = await grant('nobody', { minutes: 5, reason: 'x' });
        assert.equal(unknown.status, 404);
        assert.deepEqual(await store.audit(), before);
      });
    });

    describe('refunds', () => {
      it('voids what remains and pays back the unused share, rounded down, once', async () => {
        const purchaseId = await buy('acme');
        // The plan first: 500 minutes; then 1,000 s (16:40) of the 6,000 s package.
        await use('acme', 'c1', 500 * 60 + 1000);
        const res = await refund('acme', purchaseId, 'r-1');
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const body = res.body as PurchaseChangeDto;
        const expectedMinor = Math.floor((MEDIUM.priceMinor * 5000) / 6000);
        assert.deepEqual(
          {
            status: body.purchase.status,
            refundedSeconds: body.purchase.refundedSeconds,
            refundMinor: body.purchase.refundMinor,
            remainingSeconds: body.purchase.remainingSeconds,
            refundedAt: body.purchase.refundedAt,
          },
          {
            status: 'refunded',
            refundedSeconds: 5000,
            refundMinor: expectedMinor,
            remainingSeconds: 0,
            refundedAt: new Date(f.clock.now()).toISOString(),
          },
        );
        assert.equal(body.balance.extra.remainingSeconds, 0);
        assert.equal(body.balance.warning, 'empty');
        const paid = f.gateway.refunds.get(refundKeyOf(purchaseId));
        assert.ok(paid, 'the gateway refunded');
        assert.equal(paid.amountMinor, expectedMinor);
        const charge = [...f.gateway.charges.values()][0];
        assert.equal(paid.paymentRef, charge.reference, 'the purchase’s own payment');
        // The same key replays; another key is a 409; the gateway refunded once.
        assert.deepEqual((await refund('acme', purchaseId, 'r-1')).body, res.body);
        const second = await refund('acme', purchaseId, 'r-2');
        assert.equal(second.status, 409);
        assert.match(second.body.error.message, /already refunded/);
        assert.equal(f.gateway.refunds.size, 1);
        // Later calls never draw the voided minutes.
        const after = await use('acme', 'c2', 60);
        assert.deepEqual(after.usage.fromExtra, []);
        assert.equal(after.usage.overageSeconds, 60);
        assertInvariants(await store.audit());
      });

      it('refuses grants, purchases used up, unknown ones and another account’s (409, 404)', async () => {
        const granted = (await grant('acme', { minutes: 5, reason: 'x' })).body.purchase.id;
        const usedUp = await buy('acme', 'small');
        await use('acme', 'drain', 500 * 60 + 5 * 60 + 50 * 60);
        const others = await buy('other');
        const before = await store.audit();
        const cases: [string, string, number, string][] = [
          ['acme', granted, 409, 'conflict'],
          ['acme', usedUp, 409, 'conflict'],
          ['acme', 'pur_none', 404, 'purchase_not_found'],
          ['acme', others, 404, 'purchase_not_found'],
          ['nobody', usedUp, 404, 'account_not_found'],
        ];
        for (const [accountId, purchaseId, status, code] of cases) {
          const res = await refund(accountId, purchaseId);
          assert.equal(res.status, status, `${accountId}/${purchaseId}`);
          assert.equal(res.body.error.code, code);
        }
        const withBody = await f.call('POST', `/v1/accounts/other/purchases/${others}/refund`, {
          body: { amountMinor: 100 },
          headers: { 'idempotency-key': key() },
        });
        assert.equal(withBody.status, 400);
        assert.match(withBody.body.error.message, /no body/);
        assert.deepEqual(await store.audit(), before);
        assert.equal(f.gateway.refunds.size, 0);
        // `{}` is no body.
        const empty = await f.call('POST', `/v1/accounts/other/purchases/${others}/refund`, {
          body: {},
          headers: { 'idempotency-key': key() },
        });
        assert.equal(empty.status, 200);
      });

      it('voids the minutes at once while the processor is away; the same key pays back later, once', async () => {
        const purchaseId = await buy('acme');
        f.gateway.refundsUnavailable = true;
        const down = await refund('acme', purchaseId, 'r-down');
        assert.equal(down.status, 502);
        assert.equal(down.body.error.code, 'payment_unavailable');
        assert.equal(f.gateway.refunds.size, 0);
        const balance = await f.call('GET', '/v1/accounts/acme/balance');
        assert.equal(balance.body.extra.remainingSeconds, 0, 'voided: nothing more to draw');
        const other = await refund('acme', purchaseId, 'r-other');
        assert.equal(other.status, 409, 'one refund per purchase, owed or paid');
        f.gateway.refundsUnavailable = false;
        const retry = await refund('acme', purchaseId, 'r-down');
        assert.equal(retry.status, 200);
        assert.equal(retry.body.purchase.refundMinor, MEDIUM.priceMinor, 'nothing used: all of it');
        assert.equal(f.gateway.refunds.size, 1);
        assert.equal((await refund('acme', purchaseId, 'r-down')).status, 200);
        assert.equal(f.gateway.refunds.size, 1);
        assertInvariants(await store.audit());
      });

      it('gives the minutes back when the processor refuses the refund, and frees the key', async () => {
        const purchaseId = await buy('acme');
        await use('acme', 'plan', 500 * 60 + 600);
        const before = await store.audit();
        const balance = (await f.call('GET', '/v1/accounts/acme/balance')).body;
        f.gateway.refusingRefunds = true;
        const refused = await refund('acme', purchaseId, 'r-refused');
        assert.equal(refused.status, 502);
        assert.equal(refused.body.error.code, 'refund_failed');
        assert.match(refused.body.error.message, /keeps its minutes/);
        const after = (await f.call('GET', '/v1/accounts/acme/balance')).body;
        assert.deepEqual({ ...after, version: 0 }, { ...balance, version: 0 });
        assert.ok(after.version > balance.version, 'the streams hear of it');
        assert.deepEqual(await store.audit(), before);
        const listed = (await f.call('GET', '/v1/accounts/acme/purchases')).body.purchases[0];
        assert.equal(listed.status, 'active');
        assert.equal(listed.refundMinor, undefined);
        // Once the dispute is over, a refund goes through, under the same key too.
        f.gateway.refusingRefunds = false;
        const ok = await refund('acme', purchaseId, 'r-refused');
        assert.equal(ok.status, 200);
        assert.equal(ok.body.purchase.refundedSeconds, MEDIUM_SECONDS - 600);
        assert.equal(f.gateway.refunds.size, 1);
        assertInvariants(await store.audit());
      });

      it('a refund owed at a restart is paid back by the start-up recovery', async () => {
        const purchaseId = await buy('acme');
        f.gateway.refundsUnavailable = true;
        assert.equal((await refund('acme', purchaseId, 'r-crash')).status, 502);
        f.gateway.refundsUnavailable = false;
        assert.equal(await f.app.ledger.completePendingPurchases(), 1);
        assert.equal(
          f.gateway.refunds.get(refundKeyOf(purchaseId))?.amountMinor,
          MEDIUM.priceMinor,
        );
        assert.equal(await f.app.ledger.completePendingPurchases(), 0, 'once');
        const replay = await refund('acme', purchaseId, 'r-crash');
        assert.equal(replay.status, 200);
        assert.equal(replay.body.purchase.status, 'refunded');
        assert.equal(f.gateway.refunds.size, 1);
      });

      it('10 concurrent refunds of one purchase, under different keys, with calls drawing on it: one refund', async () => {
        const purchaseId = await buy('acme');
        await use('acme', 'plan', 500 * 60);
        const answers = await Promise.all([
          ...Array.from({ length: 10 }, (_, i) => refund('acme', purchaseId, `rr-${i}`)),
          ...Array.from({ length: 10 }, (_, i) =>
            f.call('POST', '/v1/accounts/acme/usage', { body: { callId: `x${i}`, seconds: 100 } }),
          ),
        ]);
        const refunds = answers.slice(0, 10);
        assert.equal(refunds.filter((a) => a.status === 200).length, 1);
        assert.equal(refunds.filter((a) => a.status === 409).length, 9);
        const paid = refunds.find((a) => a.status === 200)!.body as PurchaseChangeDto;
        const drawnBefore = MEDIUM_SECONDS - paid.purchase.refundedSeconds!;
        assert.equal(
          paid.purchase.refundMinor,
          Math.floor((MEDIUM.priceMinor * paid.purchase.refundedSeconds!) / MEDIUM_SECONDS),
        );
        assert.equal(f.gateway.refunds.size, 1);
        const audit = await store.audit();
        assertInvariants(audit);
        assert.equal(audit.purchases.find((p) => p.id === purchaseId)?.allocated, drawnBefore);
      });
    });

    describe('usage history', () => {
      it('names each call’s sources, newest first', async () => {
        const medium = await buy('acme');
        f.clock.advance(60_000);
        const granted = (await grant('acme', { minutes: 1, reason: 'x' })).body.purchase.id;
        await use('acme', 'a', 100);
        await use('acme', 'b', 500 * 60 - 100 + MEDIUM_SECONDS + 72);
        const page = (await f.call('GET', '/v1/accounts/acme/usage')).body as UsagePageDto;
        assert.equal(page.nextCursor, null);
        assert.deepEqual(page.usage, [
          {
            callId: 'b',
            seconds: 500 * 60 - 100 + MEDIUM_SECONDS + 72,
            occurredAt: new Date(f.clock.now()).toISOString(),
            fromPlanSeconds: 500 * 60 - 100,
            fromExtra: [
              {
                purchaseId: medium,
                name: 'Medium',
                kind: 'package',
                purchasedAt: new Date(f.clock.now() - 60_000).toISOString(),
                seconds: MEDIUM_SECONDS,
              },
              {
                purchaseId: granted,
                name: 'Grant',
                kind: 'grant',
                purchasedAt: new Date(f.clock.now()).toISOString(),
                seconds: 60,
              },
            ],
            overageSeconds: 12,
          },
          {
            callId: 'a',
            seconds: 100,
            occurredAt: new Date(f.clock.now()).toISOString(),
            fromPlanSeconds: 100,
            fromExtra: [],
            overageSeconds: 0,
          },
        ]);
      });

      it('pages over 1,000 calls: each visited once, newest first, pages of the size asked', async (t) => {
        const calls = 1000;
        for (let i = 0; i < calls; i += 50) {
          await Promise.all(
            Array.from({ length: 50 }, (_, j) =>
              f.call('POST', '/v1/accounts/acme/usage', {
                body: { callId: `call-${String(i + j).padStart(4, '0')}`, seconds: 7 },
              }),
            ),
          );
        }
        for (const limit of [1, 37, 100]) {
          const seen: string[] = [];
          let cursor: string | null = null;
          let pages = 0;
          const started = performance.now();
          do {
            const query: string = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
            const res = await f.call('GET', `/v1/accounts/acme/usage?${query}`);
            assert.equal(res.status, 200);
            const page = res.body as UsagePageDto;
            pages += 1;
            assert.ok(page.usage.length <= limit);
            if (page.nextCursor) assert.equal(page.usage.length, limit);
            seen.push(...page.usage.map((u) => u.callId));
            cursor = page.nextCursor;
          } while (cursor);
          const ms = performance.now() - started;
          t.diagnostic(
            `limit ${limit}: ${pages} pages in ${ms.toFixed(0)} ms (${(ms / pages).toFixed(2)} ms a page)`,
          );
          assert.equal(pages, Math.ceil(calls / limit));
          assert.equal(seen.length, calls);
          assert.equal(new Set(seen).size, calls, 'each call once');
          // Newest first: the order the ledger recorded them in, reversed.
          const versions = await store.transact((tx) =>
            tx.listUsage('acme', { order: 'asc', limit: calls }),
          );
          assert.deepEqual(seen, versions.map((u) => u.callId).reverse());
        }
      });

      it('refuses a bad limit or cursor, and another account’s token', async () => {
        for (const query of [
          'limit=0',
          'limit=101',
          'limit=abc',
          'limit=1.5',
          'cursor=nope',
          'page=2',
        ]) {
          const res = await f.call('GET', `/v1/accounts/acme/usage?${query}`);
          assert.equal(res.status, 400, query);
          assert.equal(res.body.error.code, 'invalid_request');
        }
        const other = await token('other', 'view');
        assert.equal(
          (await f.call('GET', '/v1/accounts/acme/usage', { auth: other.token })).status,
          403,
        );
        assert.equal((await f.call('GET', '/v1/accounts/nobody/usage')).status, 404);
      });
    });

    describe('ledger.csv', () => {
      it('has a row per purchase, grant, refund and allocation that add up to the balance', async () => {
        const medium = await buy('acme');
        f.clock.advance(1000);
        await grant('acme', { minutes: 3, reason: '=HYPERLINK("x"), "quoted"' });
        f.clock.advance(1000);
        await use('acme', 'c1', 500 * 60 + 90);
        f.clock.advance(1000);
        await refund('acme', medium);
        f.clock.advance(1000);
        await use('acme', 'c2', 200);
        const res = await exportOf(f, 'acme');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
        assert.match(
          res.headers.get('content-disposition') ?? '',
          /attachment; filename="minute-topup-acme-ledger.csv"/,
        );
        const lines = res.text.trimEnd().split('\r\n');
        assert.equal(
          lines[0],
          'at,type,purchase_id,call_id,name,source,seconds,extra_seconds,amount_minor,currency,reason',
        );
        // The reason is quoted and cannot run as a formula in a spreadsheet.
        assert.ok(
          lines.some((l) => l.endsWith(`,"'=HYPERLINK(""x""), ""quoted"""`)),
          lines.join('\n'),
        );
        const rows = csvRows(res.text.replace(/,"[^"]*(""[^"]*)*"/g, ',reason')).slice(1);
        assert.deepEqual(
          rows.map((r) => [r[1], r[5], r[6], r[7]]),
          [
            ['purchase', '', String(MEDIUM_SECONDS), String(MEDIUM_SECONDS)],
            ['grant', '', '180', '180'],
            ['usage', 'plan', String(500 * 60), '0'],
            ['usage', 'package', '90', '-90'],
            ['refund', '', String(MEDIUM_SECONDS - 90), String(-(MEDIUM_SECONDS - 90))],
            ['usage', 'grant', '180', '-180'],
            ['usage', 'overage', '20', '0'],
          ],
        );
        const extra = rows.reduce((sum, r) => sum + Number(r[7]), 0);
        const balance = await f.call('GET', '/v1/accounts/acme/balance');
        assert.equal(extra, balance.body.extra.remainingSeconds);
        const money = rows.reduce((sum, r) => sum + Number(r[8] || 0), 0);
        const refunded = Math.floor((MEDIUM.priceMinor * (MEDIUM_SECONDS - 90)) / MEDIUM_SECONDS);
        assert.equal(money, MEDIUM.priceMinor - refunded);
        assert.equal((await exportOf(f, 'nobody')).status, 404);
      });

      it('streams a large ledger in pages and adds up', async () => {
        await grant('acme', { minutes: 100, reason: 'x' });
        const calls = 1200;
        for (let i = 0; i < calls; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, j) =>
              f.call('POST', '/v1/accounts/acme/usage', {
                body: { callId: `k${i + j}`, seconds: 30 },
              }),
            ),
          );
        }
        const res = await f.app.request('/v1/accounts/acme/ledger.csv', {
          headers: { authorization: `Bearer ${SECRET}` },
        });
        let chunks = 0;
        let text = '';
        const reader = res.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks += 1;
          text += new TextDecoder().decode(value);
        }
        assert.ok(chunks >= 3, `streamed in ${chunks} chunks`);
        const rows = csvRows(text).slice(1);
        assert.equal(rows.filter((r) => r[1] === 'usage').length, calls);
        const balance = await f.call('GET', '/v1/accounts/acme/balance');
        assert.equal(
          rows.reduce((sum, r) => sum + Number(r[7]), 0),
          balance.body.extra.remainingSeconds,
        );
      });
    });
  });
}
