import { serve, type ServerType } from '@hono/node-server';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../server/app.js';
import { defaultCatalog } from '../../server/domain/catalog.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import { assertInvariants, SECRET } from '../support/api.js';
import { callApi } from '../support/http.js';

describe('concurrency over real HTTP (SQLite file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-'));
  const store = new SqliteStore(join(dir, 'ledger.db'));
  const gateway = new TestPaymentGateway();
  let server: ServerType;
  let base: string;

  before(async () => {
    const app = createApp({
      store,
      gateway,
      config: { secretKey: SECRET, catalog: defaultCatalog },
    });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) => callApi(base, method, path, body, headers, { secret: SECRET, timeoutMs: 60_000 });

  it('keeps every second and charges once per key under 400 simultaneous requests', async () => {
    for (const id of ['a', 'b'])
      assert.ok((await send('PUT', `/accounts/${id}`, { planId: 'starter' })).status < 300);
    const sent = new Map<string, number>();
    const requests: Promise<{ status: number; body: Record<string, any> }>[] = [];
    const keys = new Set<string>();
    let duplicatedCalls = 0;
    for (let i = 0; i < 400; i += 1) {
      const account = i % 3 === 0 ? 'b' : 'a';
      if (i % 4 === 0) {
        // Every purchase key is sent twice at once.
        const key = `${account}-key-${i}`;
        keys.add(key);
        const body = { packageId: ['small', 'medium', 'large'][i % 3] };
        for (let j = 0; j < 2; j += 1) {
          requests.push(
            send('POST', `/accounts/${account}/purchases`, body, { 'idempotency-key': key }),
          );
        }
      } else {
        // Every usage call is sent once; every fifth one twice at once.
        const callId = `${account}-call-${i}`;
        const seconds = 60 + ((i * 7919) % 900);
        sent.set(callId, seconds);
        for (let j = 0; j < (i % 5 === 1 ? 2 : 1); j += 1) {
          requests.push(send('POST', `/accounts/${account}/usage`, { callId, seconds }));
          if (j === 1) duplicatedCalls += 1;
        }
      }
    }
    assert.ok(duplicatedCalls >= 50, `${duplicatedCalls} call ids sent twice`);
    const results = await Promise.all(requests);
    assert.deepEqual(
      results.filter((r) => r.status >= 300).map((r) => r.body),
      [],
      'every request succeeded',
    );
    const audit = await store.audit();
    assertInvariants(audit, () => 30_000);
    assert.equal(audit.purchases.length, keys.size, 'one purchase per key');
    assert.equal(gateway.chargeCount, keys.size, 'one charge per key');
    const usedTotal = audit.usages.reduce((s, u) => s + u.seconds, 0);
    const sentTotal = [...sent.values()].reduce((s, v) => s + v, 0);
    assert.equal(usedTotal, sentTotal, 'every second of every distinct call is on the ledger');
    assert.equal(audit.usages.length, sent.size);
  });
});
