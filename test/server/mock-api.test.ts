import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMockApi } from '../../server/testing/mock-api.js';

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
