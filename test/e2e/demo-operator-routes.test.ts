/**
 * The demo backend's routes for roles and the operator panel (`/demo/api/*`),
 * over HTTP against the real `npm start` process: a viewer's token only
 * reads; grants and refunds need a good key and body, happen once, and count
 * in the demo's per-client limit like every demo route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_LIMITS } from '../../demo/server.js';
import { startDemoServer } from '../support/demo-server.js';

describe("the demo backend's operator and role routes, over HTTP", () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;

  // Refusals only change nothing: one server.
  before(async () => {
    demo = await startDemoServer();
  });
  after(async () => {
    await demo?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(demo.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const codeOf = async (res: Response) =>
    ((await res.json()) as { error: { code: string } }).error.code;

  it("mints a viewer's token that reads the account and may not buy", async () => {
    const res = await post('/demo/api/session', { accountId: 'demo-fresh', role: 'viewer' });
    assert.equal(res.status, 200);
    const { token, scope } = (await res.json()) as { token: string; scope: string };
    assert.equal(scope, 'view');
    const api = `${demo.base}/v1/accounts/demo-fresh`;
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await fetch(`${api}/balance`, { headers: auth })).status, 200);
    const buy = await fetch(`${api}/purchases`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': 'viewer-buys-1' },
      body: JSON.stringify({ packageId: 'small' }),
    });
    assert.equal(buy.status, 403);
    // An owner's token is still the default, and buys.
    const owner = (await (await post('/demo/api/session', { accountId: 'demo-fresh' })).json()) as {
      scope: string;
    };
    assert.equal(owner.scope, 'buy');
    const role = await post('/demo/api/session', { accountId: 'demo-fresh', role: 'admin' });
    assert.equal(role.status, 400);
  });

  it('refuses a grant or refund without a good key, body or account, and changes nothing', async () => {
    const grant = { accountId: 'demo-fresh', minutes: 10, reason: 'Test' };
    const key = { 'idempotency-key': 'operator-test-key-1' };
    const refusals: [Response, number, string][] = [
      [await post('/demo/api/grants', grant), 400, 'invalid_request'],
      [
        await post('/demo/api/grants', grant, { 'idempotency-key': 'short' }),
        400,
        'invalid_request',
      ],
      [await post('/demo/api/grants', { ...grant, minutes: 0 }, key), 400, 'invalid_request'],
      [await post('/demo/api/grants', { ...grant, minutes: 100_001 }, key), 400, 'invalid_request'],
      [
        await post('/demo/api/grants', { ...grant, reason: 'a'.repeat(201) }, key),
        400,
        'invalid_request',
      ],
      [await post('/demo/api/grants', { ...grant, extra: 1 }, key), 400, 'invalid_request'],
      [
        await post('/demo/api/grants', { ...grant, accountId: 'not-a-demo-account' }, key),
        400,
        'invalid_request',
      ],
      [
        await post(
          '/demo/api/grants',
          JSON.stringify({ ...grant, pad: 'a'.repeat(DEMO_LIMITS.maxBodyBytes + 1024) }),
          key,
        ),
        413,
        'payload_too_large',
      ],
      [
        await post('/demo/api/refunds', { accountId: 'demo-fresh', purchaseId: 'nope' }, key),
        404,
        'purchase_not_found',
      ],
      [
        await post('/demo/api/refunds', { accountId: 'demo-fresh', purchaseId: 'nope' }),
        400,
        'invalid_request',
      ],
    ];
    for (const [res, status, code] of refusals) {
      assert.equal(res.status, status, res.url);
      assert.equal(await codeOf(res), code);
    }
    for (const path of ['purchases', 'ledger.csv']) {
      const res = await fetch(`${demo.base}/demo/api/accounts/not-a-demo-account/${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(await codeOf(res), 'account_not_found');
    }
    const listed = await fetch(`${demo.base}/demo/api/accounts/demo-fresh/purchases`);
    assert.deepEqual(await listed.json(), { purchases: [] });
  });

  it('refunds a package once: the same key again answers the same, another key is a 409', async () => {
    const listed = (await (
      await fetch(`${demo.base}/demo/api/accounts/demo-empty/purchases`)
    ).json()) as { purchases: { id: string; refundable: boolean }[] };
    // demo-empty's only package is used up: nothing left to refund, and nothing offered.
    assert.deepEqual(
      listed.purchases.map((p) => p.refundable),
      [false],
    );
    const onExtra = (await (
      await fetch(`${demo.base}/demo/api/accounts/demo-on-extra/purchases`)
    ).json()) as { purchases: { id: string; name: string }[] };
    const large = onExtra.purchases.find((p) => p.name === 'Large')!;
    const refund = (key: string) =>
      post(
        '/demo/api/refunds',
        { accountId: 'demo-on-extra', purchaseId: large.id },
        { 'idempotency-key': key },
      );
    const first = await refund('refund-large-1');
    assert.equal(first.status, 200);
    const { message } = (await first.json()) as { message: string };
    assert.match(message, /^Refunded \$50\.00 of \$50\.00 for Large/);
    const again = await refund('refund-large-1');
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { message: string }).message, message);
    const other = await refund('refund-large-2');
    assert.equal(other.status, 409);
  });

  it("counts the operator routes in the demo's per-client limit", async () => {
    // A fresh server: its window opens with the start-up probe (one request).
    const own = await startDemoServer();
    try {
      let status = 0;
      for (let i = 0; i < DEMO_LIMITS.requestsPerMinute + 5 && status !== 429; i += 1) {
        const res = await fetch(`${own.base}/demo/api/accounts/demo-fresh/purchases`);
        status = res.status;
        await res.arrayBuffer();
      }
      assert.equal(status, 429);
      const grant = await fetch(`${own.base}/demo/api/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'limit-test-grant' },
        body: JSON.stringify({ accountId: 'demo-fresh', minutes: 10, reason: 'Limit' }),
      });
      assert.equal(grant.status, 429);
      assert.ok(Number(grant.headers.get('retry-after')) >= 1);
      assert.equal(
        (await fetch(`${own.base}/demo/api/accounts/demo-fresh/ledger.csv`)).status,
        429,
      );
    } finally {
      await own.stop();
    }
  });
});
