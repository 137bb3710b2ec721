import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApp } from '../server/app.js';
import { defaultCatalog } from '../server/domain/index.js';
import { TestPaymentGateway } from '../server/payments/test-gateway.js';
import { PostgresStore } from '../server/store/postgres.js';
import { SqliteStore } from '../server/store/sqlite.js';
import type { LedgerStore } from '../server/store/types.js';
import { WebhookDelivery } from '../server/webhooks/delivery.js';
import { freshPostgresDatabase } from '../test/support/pg.js';
import type { Row } from './http.js';
import { SECRET, tempDir } from './util.js';

const ACCOUNTS = 50;
const PER_ACCOUNT = 40;
const WEBHOOKS = ACCOUNTS * PER_ACCOUNT;
const HOOK_SECRET = `whsec_${Buffer.from('minute-topup bench secret').toString('base64')}`;

/**
 * Webhooks to the host: the outbox filled with 2,000 `purchase.succeeded`
 * (50 accounts × 40 purchases, delivery stopped), then drained to a local
 * endpoint that answers 204 at once — one process, up to 16 in flight (one per
 * account), signed per Standard Webhooks. And what writing the event costs
 * a purchase: purchases with the outbox ÷ without, in-process, same store.
 */
export async function webhooksBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const tmp = tempDir();
  try {
    const sqlite = new SqliteStore(join(tmp.dir, 'webhooks.db'));
    rows.push(...(await measure('SQLite', sqlite)));
    await sqlite.close();
    const db = await freshPostgresDatabase();
    if (db) {
      const pg = await PostgresStore.open(db.url, { poolMax: 10 });
      rows.push(...(await measure('PostgreSQL', pg)));
      await pg.close();
      await db.drop();
    }
  } finally {
    tmp.remove();
  }
  return rows;
}

async function measure(name: string, store: LedgerStore): Promise<Row[]> {
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const host = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(204).end();
      if (++received === WEBHOOKS) done();
    });
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/hooks`;
  const delivery = new WebhookDelivery({ store, url, secret: HOOK_SECRET });
  const config = { secretKey: SECRET, catalog: defaultCatalog };
  const gateway = new TestPaymentGateway();
  const withOutbox = createApp({ store, gateway, config, webhooks: delivery });
  const without = createApp({ store, gateway, config });
  for (let a = 0; a < ACCOUNTS; a += 1) await withOutbox.ledger.putAccount(`hook-${a}`, 'starter');

  // Purchases with and without the event, alternating, the same number of each.
  const timed = { with: 0, without: 0 };
  let n = 0;
  for (let i = 0; i < PER_ACCOUNT; i += 1) {
    for (let a = 0; a < ACCOUNTS; a += 1) {
      for (const [app, side] of [
        [withOutbox, 'with'],
        [without, 'without'],
      ] as const) {
        const started = performance.now();
        await app.ledger.buy(`hook-${a}`, 'small', `bench-${++n}`);
        timed[side] += performance.now() - started;
      }
    }
  }
  const started = performance.now();
  delivery.start();
  await all;
  const seconds = (performance.now() - started) / 1000;
  await delivery.stop();
  await new Promise((resolve) => host.close(resolve));
  return [
    {
      figure: `Webhooks delivered, ${name} outbox → local endpoint (one process)`,
      value: `${Math.round(WEBHOOKS / seconds)}/s (${WEBHOOKS.toLocaleString('en')} webhooks of ${ACCOUNTS} accounts in ${seconds.toFixed(1)} s, up to 16 in flight)`,
      goal: '—',
    },
    {
      figure: `Purchase writing its webhook ÷ without (${name}, in-process)`,
      value: `${(timed.with / timed.without).toFixed(2)}× (${((timed.with / WEBHOOKS) * 1000).toFixed(0)} µs vs ${((timed.without / WEBHOOKS) * 1000).toFixed(0)} µs)`,
      goal: '≤ 1.2×',
    },
  ];
}
