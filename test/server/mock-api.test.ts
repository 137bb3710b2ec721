import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PurchaseDto, UsageHistoryItemDto } from '../../contract/index.js';
import { createMockApi } from '../../server/testing/mock-api.js';
import type { MockApi } from '../../server/testing/mock-api-types.js';

describe('createMockApi', () => {
  it('counts in chargeCount only the charges made after the mock was created, not the seeds', async () => {
    const api = await createMockApi({
      accounts: [
        { id: 'acme', packages: ['small', 'large'] },
        { id: 'other', packages: ['medium'] },
      ],
    });
    assert.equal(api.chargeCount, 0, 'seeded packages are not counted');
    assert.equal(api.gateway.chargeCount, 3, 'the gateway itself charged the seeds');
    const token = await api.mintToken('acme');
    const buy = (key: string) =>
      api.fetch(
        new Request('http://mock/v1/accounts/acme/purchases', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify({ packageId: 'medium' }),
        }),
      );
    assert.equal((await buy('k1')).status, 201);
    assert.equal((await buy('k1')).status, 201, 'a replay');
    assert.equal(api.chargeCount, 1);
    api.setDeclining('acme');
    assert.equal((await buy('k2')).status, 402);
    assert.equal(api.chargeCount, 1, 'a declined purchase is no charge');
  });
});

describe('createMockApi, operators', () => {
  const get = async (api: MockApi, token: string, path: string) =>
    (
      await api.fetch(
        new Request(`http://mock/v1/accounts/acme${path}`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      )
    ).json();
  const buy = (api: MockApi, token: string) =>
    api.fetch(
      new Request('http://mock/v1/accounts/acme/purchases', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': 'k1',
        },
        body: JSON.stringify({ packageId: 'small' }),
      }),
    );
  const claims = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

  it('mints buy tokens by default and view tokens on request; a view token reads and buys nothing', async () => {
    const api = await createMockApi({ accounts: [{ id: 'acme', usedSeconds: 60 }] });
    const [plain, withTtl, buyer, viewer] = await Promise.all([
      api.mintToken('acme'),
      api.mintToken('acme', 60),
      api.mintToken('acme', undefined, 'buy'),
      api.mintToken('acme', 60, 'view'),
    ]);
    assert.equal(claims(plain).scope, 'buy');
    assert.equal(claims(withTtl).scope, 'buy');
    assert.equal(Number(claims(withTtl).exp) - Number(claims(withTtl).iat), 60);
    assert.equal(claims(buyer).scope, 'buy');
    assert.equal(claims(viewer).scope, 'view');
    assert.equal((await get(api, viewer, '/balance')).plan.usedSeconds, 60);
    const refused = await buy(api, viewer);
    assert.equal(refused.status, 403);
    assert.equal((await refused.json()).error.code, 'forbidden');
    assert.equal(api.chargeCount, 0);
    assert.equal((await buy(api, plain)).status, 201);
    assert.equal(api.chargeCount, 1);
  });

  it('grants free minutes and refunds a purchase, as an operator would', async () => {
    const api = await createMockApi({ accounts: [{ id: 'acme', packages: ['medium'] }] });
    const token = await api.mintToken('acme');
    const granted = await api.grant('acme', 30, 'Outage credit');
    assert.equal(granted.purchase.kind, 'grant');
    assert.equal(granted.purchase.reason, 'Outage credit');
    assert.equal(granted.purchase.priceMinor, 0);
    assert.equal(granted.balance.extra.remainingSeconds, 130 * 60);
    const [, medium] = (await get(api, token, '/purchases')).purchases;
    await api.recordUsage('acme', 500 * 60 + 25 * 60); // the plan, then 25 of Medium's 100 minutes
    const refunded = await api.refund('acme', medium.id);
    assert.equal(refunded.purchase.status, 'refunded');
    assert.equal(refunded.purchase.refundedSeconds, 75 * 60);
    assert.equal(refunded.purchase.refundMinor, Math.floor((medium.priceMinor * 75) / 100));
    assert.equal(refunded.balance.extra.remainingSeconds, 30 * 60);
    await assert.rejects(api.refund('acme', medium.id), /refunded/i, 'a second refund');
    assert.equal(api.chargeCount, 0, 'grants and refunds are no charges');
  });

  it('seeds grants and calls: each call once in the usage history, newest first', async () => {
    const api = await createMockApi({
      accounts: [
        {
          id: 'acme',
          packages: ['small'],
          grants: [{ minutes: 10, reason: 'Welcome' }],
          usedSeconds: 500 * 60,
          calls: [90, 45, 30],
        },
      ],
    });
    const token = await api.mintToken('acme', undefined, 'view');
    const { purchases } = await get(api, token, '/purchases');
    assert.deepEqual(
      purchases.map((p: PurchaseDto) => [p.kind, p.name]),
      [
        ['grant', 'Grant'],
        ['package', 'Small'],
      ],
    );
    const page = await get(api, token, '/usage');
    assert.deepEqual(
      page.usage.map((u: UsageHistoryItemDto) => u.seconds),
      [30, 45, 90, 500 * 60],
    );
    // The plan is used up: the first call after it draws on Small, the oldest.
    assert.deepEqual(
      page.usage[2].fromExtra.map((e: UsageHistoryItemDto['fromExtra'][number]) => [
        e.name,
        e.seconds,
      ]),
      [['Small', 90]],
    );
    assert.equal(page.nextCursor, null);
  });
});

describe('createMinuteTopupMocks in Node (no page, no msw worker)', () => {
  it('answers `${apiBase}/v1/…` for an absolute URL, a path with or without its slashes, and none', async () => {
    const { createMinuteTopupMocks } = await import('../../mocks/index.js');
    const cases: [apiBase: string, url: string][] = [
      ['http://api.test/minutes', 'http://api.test/minutes/v1/accounts/acme/balance'],
      ['/api', 'http://localhost:5173/api/v1/accounts/acme/balance'],
      ['/api/', 'http://localhost:5173/api/v1/accounts/acme/balance'],
      ['api', 'http://localhost:5173/api/v1/accounts/acme/balance'],
      ['', 'http://localhost:5173/v1/accounts/acme/balance'],
    ];
    for (const [apiBase, url] of cases) {
      const mocks = await createMinuteTopupMocks({
        apiBase,
        accounts: [{ id: 'acme', usedSeconds: 60 }],
      });
      const res = await mocks.fetch(
        new Request(url, { headers: { authorization: `Bearer ${await mocks.token('acme')}` } }),
      );
      assert.equal(res.status, 200, `${apiBase}: ${url}`);
      assert.equal((await res.json()).plan.usedSeconds, 60);
      assert.equal(mocks.handlers.length, 1, 'msw is installed here: the handlers are made');
    }
  });
});
