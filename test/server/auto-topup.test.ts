/**
 * Auto top-up over HTTP, on every store (DESIGN §10): the settings and who
 * may change them, the trigger at the threshold, the monthly limit under
 * concurrent calls, pause on a decline (and on a bank that wants the absent
 * customer to authenticate), resume by a purchase or a PUT, and completion
 * at start-up of a purchase queued by a usage whose charge was never made.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { AutoTopupDto, BalanceDto, PurchaseDto } from '../../contract/index.js';
import { createApp } from '../../server/app.js';
import { defaultCatalog, findPackage } from '../../server/domain/index.js';
import { AUTHENTICATION_NEEDED, type ChargeRequest } from '../../server/payments/gateway.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import type { LedgerStore } from '../../server/store/types.js';
import { assertInvariants, fixture, SECRET, storeFactories, type Fixture } from '../support/api.js';

const SMALL = findPackage(defaultCatalog, 'small');
const MEDIUM = findPackage(defaultCatalog, 'medium');
/** Starter's allowance: 500 minutes. */
const PLAN_SECONDS = 500 * 60;

/** A test gateway that counts the charges it is making at once, per account. */
class WatchedGateway extends TestPaymentGateway {
  constructor(delayMs = 0) {
    super({ delayMs });
  }
  inFlight = 0;
  maxInFlight = 0;
  requests: ChargeRequest[] = [];
  override async charge(request: ChargeRequest) {
    this.requests.push(request);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await super.charge(request);
    } finally {
      this.inFlight -= 1;
    }
  }
}

for (const factory of storeFactories) {
  describe(`auto top-up (${factory.name} store)`, () => {
    let store: LedgerStore;
    let f: Fixture<WatchedGateway>;
    let n = 0;
    const key = () => `k-${++n}`;

    const settings = (accountId = 'acme') => f.call('GET', `/v1/accounts/${accountId}/auto-topup`);
    const put = (body: unknown, auth?: string, accountId = 'acme') =>
      f.call('PUT', `/v1/accounts/${accountId}/auto-topup`, { body, auth });
    const turnOn = async (over: Partial<AutoTopupDto> = {}) => {
      const res = await put({
        enabled: true,
        thresholdMinutes: 30,
        packageId: 'medium',
        monthlyLimit: 3,
        ...over,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as AutoTopupDto;
    };
    const use = async (seconds: number, callId = `call-${++n}`) => {
      const res = await f.call('POST', '/v1/accounts/acme/usage', { body: { callId, seconds } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.balance as BalanceDto;
    };
    const settled = () => f.app.ledger.autoTopupsSettled();
    const purchases = async () =>
      (await f.call('GET', '/v1/accounts/acme/purchases')).body.purchases as PurchaseDto[];
    const balance = async () =>
      (await f.call('GET', '/v1/accounts/acme/balance')).body as BalanceDto;
    const token = async (scope: 'buy' | 'view', accountId = 'acme') =>
      (await f.call('POST', '/v1/sessions', { body: { accountId, scope } })).body.token as string;

    beforeEach(async () => {
      store = await factory.open();
      f = await fixture(store, {}, { gateway: new WatchedGateway() });
      for (const id of ['acme', 'other']) {
        const res = await f.call('PUT', `/v1/accounts/${id}`, { body: { planId: 'starter' } });
        assert.equal(res.status, 201);
      }
    });

    it('answers the defaults (off) until set, and keeps what a PUT sets', async () => {
      const fresh = await settings();
      assert.equal(fresh.status, 200);
      assert.deepEqual(fresh.body, {
        enabled: false,
        thresholdMinutes: 30,
        packageId: 'medium',
        monthlyLimit: 3,
        status: 'active',
        cycleCount: 0,
      });
      const set = await turnOn({ thresholdMinutes: 45, packageId: 'small', monthlyLimit: 2 });
      assert.deepEqual(set, {
        enabled: true,
        thresholdMinutes: 45,
        packageId: 'small',
        monthlyLimit: 2,
        status: 'active',
        cycleCount: 0,
      });
      assert.deepEqual((await settings()).body, set);
      assert.equal((await settings('other')).body.enabled, false);
    });

    it('refuses bad settings with 400/404 and changes nothing', async () => {
      const before = await turnOn();
      const good = { enabled: true, thresholdMinutes: 30, packageId: 'medium', monthlyLimit: 3 };
      const bad: [unknown, number][] = [
        [{ ...good, thresholdMinutes: 0 }, 400],
        [{ ...good, thresholdMinutes: 2.5 }, 400],
        [{ ...good, thresholdMinutes: 100_001 }, 400],
        [{ ...good, monthlyLimit: 0 }, 400],
        [{ ...good, monthlyLimit: 32 }, 400],
        [{ ...good, enabled: 'yes' }, 400],
        [{ enabled: true, thresholdMinutes: 30, packageId: 'medium' }, 400],
        [{ ...good, extra: 1 }, 400],
        [{ ...good, packageId: 'huge' }, 404],
      ];
      for (const [body, status] of bad) {
        const res = await put(body);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.ok(res.body.error.message.length > 0);
      }
      assert.equal((await put(good, SECRET, 'nobody')).status, 404);
      assert.deepEqual((await settings()).body, before);
    });

    it('lets a buy token change it and a view token only read it', async () => {
      const view = await token('view');
      const buy = await token('buy');
      const body = { enabled: true, thresholdMinutes: 10, packageId: 'large', monthlyLimit: 1 };
      assert.equal(
        (await f.call('GET', '/v1/accounts/acme/auto-topup', { auth: view })).status,
        200,
      );
      const refused = await put(body, view);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'forbidden');
      assert.equal((await settings()).body.enabled, false);
      assert.equal((await put(body, await token('buy', 'other'))).status, 403);
      const done = await put(body, buy);
      assert.equal(done.status, 200);
      assert.equal(done.body.packageId, 'large');
    });

    it('buys the package once a call leaves the balance at the threshold, after answering the call', async () => {
      await turnOn({ thresholdMinutes: 30 });
      // 470 of 500 minutes: 30 left, exactly the threshold.
      const before = await use(PLAN_SECONDS - 31 * 60);
      assert.equal(before.extra.remainingSeconds, 0);
      assert.equal(f.gateway.requests.length, 0, '31 minutes left: above the threshold');
      const answered = await use(60);
      // The call's own answer does not wait for the charge.
      assert.equal(answered.extra.remainingSeconds, 0);
      await settled();
      assert.equal(f.gateway.requests.length, 1);
      assert.equal(f.gateway.requests[0].offSession, true);
      const after = await balance();
      assert.equal(after.extra.remainingSeconds, MEDIUM.minutes * 60);
      assert.ok(after.version > answered.version);
      const list = await purchases();
      assert.equal(list.length, 1);
      assert.equal(list[0].packageId, 'medium');
      assert.equal(list[0].status, 'active');
      assert.equal((await settings()).body.cycleCount, 1);
      // 130 minutes left now: nothing more is bought.
      await use(60);
      await settled();
      assert.equal(f.gateway.requests.length, 1);
      assertInvariants(await store.audit());
    });

    it('never makes more than the monthly limit, nor two at once, under 50 concurrent calls a round', async () => {
      // Every call leaves the balance below the threshold: each would buy,
      // but for the one under way and the limit. The charge takes a while,
      // so many calls commit while it is in flight.
      f = await fixture(store, {}, { gateway: new WatchedGateway(20) });
      await turnOn({ thresholdMinutes: 1000, packageId: 'small', monthlyLimit: 3 });
      for (let round = 0; round < 4; round += 1) {
        const calls = Array.from({ length: 50 }, () =>
          f.call('POST', '/v1/accounts/acme/usage', {
            body: { callId: `c-${round}-${++n}`, seconds: 30 },
          }),
        );
        for (const res of await Promise.all(calls)) assert.equal(res.status, 200);
        await settled();
      }
      const auto = (await purchases()).filter((p) => p.packageId === 'small');
      assert.equal(auto.length, 3, 'the limit, reached and not passed');
      assert.equal(f.gateway.requests.length, 3);
      assert.equal(new Set(f.gateway.requests.map((r) => r.idempotencyKey)).size, 3);
      assert.equal(f.gateway.maxInFlight, 1);
      const now = (await settings()).body as AutoTopupDto;
      assert.equal(now.cycleCount, 3);
      assert.equal(now.status, 'active');
      assertInvariants(await store.audit());
    });

    it('starts counting again in the next billing cycle', async () => {
      await turnOn({ thresholdMinutes: 30, packageId: 'small', monthlyLimit: 1 });
      await use(PLAN_SECONDS - 30 * 60);
      await settled();
      await use(50 * 60);
      await settled();
      assert.equal(f.gateway.requests.length, 1, 'the limit of 1 is reached this cycle');
      f.clock.advance(31 * 24 * 3_600_000);
      assert.equal((await settings()).body.cycleCount, 0);
      // A new allowance, and 30 extra minutes left from the package: 30 after this call.
      await use(PLAN_SECONDS);
      await settled();
      assert.equal(f.gateway.requests.length, 2);
      assert.equal((await settings()).body.cycleCount, 1);
    });

    it('pauses on a decline with the reason, buys nothing more, and resumes on a purchase by hand', async () => {
      f.gateway.setDeclining('acme');
      await turnOn();
      const before = await use(PLAN_SECONDS - 30 * 60);
      await settled();
      const paused = (await settings()).body as AutoTopupDto;
      assert.equal(paused.status, 'paused');
      assert.match(paused.pausedReason ?? '', /declined/i);
      assert.equal(paused.cycleCount, 0, 'a declined purchase does not count');
      assert.ok((await balance()).version > before.version, 'open widgets hear of the pause');
      assert.equal((await purchases()).length, 0);
      await use(60);
      await settled();
      assert.equal(f.gateway.requests.length, 1, 'paused: no further attempt');
      f.gateway.setDeclining('acme', false);
      const bought = await f.call('POST', '/v1/accounts/acme/purchases', {
        body: { packageId: 'small' },
        headers: { 'idempotency-key': key() },
      });
      assert.equal(bought.status, 201);
      const resumed = (await settings()).body as AutoTopupDto;
      assert.equal(resumed.status, 'active');
      assert.equal(resumed.pausedReason, undefined);
      // 50 + 29 minutes left, above the threshold … then below it: bought.
      await use(50 * 60);
      await settled();
      assert.equal((await purchases()).filter((p) => p.packageId === 'medium').length, 1);
      assertInvariants(await store.audit());
    });

    it('pauses when the bank wants the absent customer to authenticate, and a PUT resumes it', async () => {
      f.gateway.setRequiresAction('acme');
      await turnOn();
      await use(PLAN_SECONDS - 30 * 60);
      await settled();
      const paused = (await settings()).body as AutoTopupDto;
      assert.equal(paused.status, 'paused');
      assert.equal(paused.pausedReason, AUTHENTICATION_NEEDED);
      assert.equal((await purchases()).length, 0, 'no purchase waits for the absent customer');
      f.gateway.setRequiresAction('acme', false);
      const resumed = await turnOn();
      assert.equal(resumed.status, 'active');
      await use(60);
      await settled();
      assert.equal((await purchases()).length, 1);
    });

    it('does not trigger while off, and replays of a call trigger nothing', async () => {
      await turnOn({ enabled: false });
      await use(PLAN_SECONDS - 10 * 60, 'same');
      await settled();
      assert.equal(f.gateway.requests.length, 0);
      await turnOn();
      await use(PLAN_SECONDS - 10 * 60, 'same');
      await settled();
      assert.equal(f.gateway.requests.length, 0, 'a replayed call changed nothing');
    });

    it('lets any process complete an auto top-up left queued for a minute, and not before', async () => {
      const stalled = new WatchedGateway();
      stalled.charge = () => new Promise(() => undefined);
      const dead = createApp({
        store,
        gateway: stalled,
        clock: f.clock,
        config: { secretKey: SECRET, catalog: defaultCatalog },
      });
      await turnOn();
      await dead.ledger.recordUsage('acme', 'queued', PLAN_SECONDS - 30 * 60);
      f.clock.advance(30_000);
      assert.equal(await f.app.ledger.completeStaleAutoTopups(), 0, 'maybe still under way');
      f.clock.advance(31_000);
      assert.equal(await f.app.ledger.completeStaleAutoTopups(), 1);
      assert.equal(f.gateway.requests.length, 1);
      assert.equal((await balance()).extra.remainingSeconds, MEDIUM.minutes * 60);
      assert.equal(await f.app.ledger.completeStaleAutoTopups(), 0);
      assertInvariants(await store.audit());
    });

    it('counts in the newer cycle when a clock is behind the one that counted last', async () => {
      await turnOn({ thresholdMinutes: 1_000, packageId: 'small', monthlyLimit: 1 });
      f.clock.advance(31 * 24 * 3_600_000);
      await use(60);
      await settled();
      assert.equal(f.gateway.requests.length, 1);
      // Another process, its clock a month behind: no reset, no key used twice, no 500.
      f.clock.advance(-31 * 24 * 3_600_000);
      await use(60);
      await settled();
      assert.equal(f.gateway.requests.length, 1, 'the limit of the newer cycle holds');
      assert.deepEqual(f.unexpected, []);
    });

    it('completes at start-up a purchase queued by a usage whose charge was never made', async () => {
      // The first process records the usage (and the queued purchase), then
      // stops before its charge goes out: its gateway never answers.
      const stalled = new WatchedGateway();
      stalled.charge = () => new Promise(() => undefined);
      const first = createApp({
        store,
        gateway: stalled,
        clock: f.clock,
        config: { secretKey: SECRET, catalog: defaultCatalog },
      });
      await turnOn();
      await first.ledger.recordUsage('acme', 'queued', PLAN_SECONDS - 30 * 60);
      assert.equal((await settings()).body.cycleCount, 1);
      // The next process: its recovery makes the charge, once, and credits it.
      assert.equal(await f.app.ledger.completePendingPurchases(), 1);
      assert.equal(f.gateway.requests.length, 1);
      assert.equal(f.gateway.requests[0].offSession, true);
      assert.equal((await balance()).extra.remainingSeconds, MEDIUM.minutes * 60);
      assert.equal(await f.app.ledger.completePendingPurchases(), 0);
      assert.equal(f.gateway.chargeCount, 1);
      // Not under way any more: the next need buys again.
      await use(MEDIUM.minutes * 60);
      await settled();
      assert.equal(f.gateway.requests.length, 2);
      assert.equal(SMALL.minutes, 50);
      assertInvariants(await store.audit());
    });
  });
}
