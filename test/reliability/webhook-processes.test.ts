import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  cleanUpTargets,
  freePort,
  postgresTarget,
  startReadyApi,
  terminateApi,
} from '../support/api-process.js';
import { callApi } from '../support/http.js';
import { prng } from '../support/net.js';
import { reported } from '../support/reliability-report.js';
import { WEBHOOK_SECRET, webhookReceiver } from '../support/webhook-receiver.js';

/**
 * Issue 16: two API processes on one PostgreSQL database share one outbox.
 * Each leases an account's oldest undelivered webhook (`FOR UPDATE SKIP
 * LOCKED`), so every webhook reaches the host, each id answered 2xx once,
 * each account's in the order it was written and never two of one account at
 * once — across processes, while the host fails a fifth of the attempts.
 */

after(cleanUpTargets);

const ACCOUNTS = ['hook-0', 'hook-1', 'hook-2', 'hook-3', 'hook-4', 'hook-5'];
const PURCHASES_PER_ACCOUNT = 8;

const target = await postgresTarget();

describe('webhooks from two processes (PostgreSQL)', () => {
  test(
    'every webhook delivered once, in order per account, one in flight per account',
    {
      skip: target ? false : 'PostgreSQL not reachable — the PostgreSQL suites are skipped.',
      timeout: 120_000,
    },
    async (t) => {
      const db = target!;
      const random = prng(16);
      let refused = 0;
      const host = await webhookReceiver(() => {
        if (random() < 0.2) {
          refused += 1;
          return 503;
        }
        return 204;
      });
      const env = {
        MINUTE_TOPUP_WEBHOOK_URL: host.url,
        MINUTE_TOPUP_WEBHOOK_SECRET: WEBHOOK_SECRET,
        MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS: '30',
      };
      const chargesFile = join(db.dir, 'charges.jsonl');
      const [a, b] = await Promise.all([
        freePort().then((port) =>
          startReadyApi({ port, databaseUrl: db.databaseUrl, chargesFile, env }),
        ),
        freePort().then((port) =>
          startReadyApi({ port, databaseUrl: db.databaseUrl, chargesFile, env }),
        ),
      ]);
      const written = ACCOUNTS.length * PURCHASES_PER_ACCOUNT;
      await reported(
        {
          tried: 'two API processes on one PostgreSQL outbox, the host refusing 20% of attempts',
          check:
            'each webhook delivered once, in order per account, never two of an account at once',
          figures: () =>
            `${written} webhooks, ${host.received.length} attempts (${refused} refused by the host), ${host.delivered().length} delivered, at most ${host.maxOpenPerAccount} of one account at once`,
        },
        async () => {
          for (const id of ACCOUNTS) {
            const res = await callApi(a.base, 'PUT', `/v1/accounts/${id}`, { planId: 'starter' });
            assert.equal(res.status, 201, `${res.status} ${res.text}`);
          }
          // Purchases through both processes at once: each writes one purchase.succeeded.
          let n = 0;
          await Promise.all(
            ACCOUNTS.flatMap((id) =>
              Array.from({ length: PURCHASES_PER_ACCOUNT }, async () => {
                const api = ++n % 2 === 0 ? a : b;
                const res = await callApi(
                  api.base,
                  'POST',
                  `/v1/accounts/${id}/purchases`,
                  { packageId: 'small' },
                  { 'Idempotency-Key': `hook-${n}` },
                );
                assert.equal(res.status, 201, `${res.status} ${res.text}`);
              }),
            ),
          );
          await host.until(
            () => new Set(host.delivered().map((r) => r.id)).size === written,
            60_000,
          );
          assert.deepEqual(host.forged, []);
          const ids = host.delivered().map((r) => r.id);
          assert.equal(ids.length, new Set(ids).size, 'no webhook answered 2xx twice');
          assert.equal(host.maxOpenPerAccount, 1, 'one webhook of an account in flight');
          // The outbox's order per account, as the API lists it (newest first).
          // The last answers may still be on their way into the outbox: asked until recorded.
          type Listed = { id: string; accountId: string; status: string };
          let outbox: Listed[] = [];
          for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
            const listed = await callApi(a.base, 'GET', '/v1/webhooks/deliveries?limit=500');
            outbox = (listed.body.deliveries as Listed[]).slice().reverse();
            if (outbox.every((d) => d.status === 'delivered')) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.equal(outbox.length, written);
          assert.ok(outbox.every((d) => d.status === 'delivered'));
          for (const id of ACCOUNTS) {
            assert.deepEqual(
              host
                .delivered()
                .filter((r) => r.event.data.accountId === id)
                .map((r) => r.id),
              outbox.filter((d) => d.accountId === id).map((d) => d.id),
              `the order of ${id}`,
            );
          }
          t.diagnostic(`${host.received.length} attempts, ${refused} refused`);
        },
      );
      for (const api of [a, b]) assert.equal((await terminateApi(api)).code, 0, api.output());
    },
  );
});
