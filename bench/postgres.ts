import type pg from 'pg';
import { createApp } from '../server/app.js';
import { defaultCatalog } from '../server/domain/index.js';
import { TestPaymentGateway } from '../server/payments/test-gateway.js';
import { PostgresStore } from '../server/store/postgres.js';
import { freshPostgresDatabase } from '../test/support/pg.js';
import type { Row } from './http.js';
import { createAccounts, load, median, SECRET, spawnServer, tempDir } from './util.js';

const accounts = Array.from({ length: 10 }, (_, i) => `acct-${i}`);

/** Usage calls per second on one PostgreSQL database with one and with two API processes. */
export async function postgresBench(runs = 3): Promise<Row[]> {
  const db = await freshPostgresDatabase();
  if (!db) return [{ figure: 'PostgreSQL', value: 'not reachable: skipped', goal: '—' }];
  const tmp = tempDir();
  const env = { DATABASE_URL: db.url, MINUTE_TOPUP_TEST_CHARGES_FILE: `${tmp.dir}/charges.jsonl` };
  const a = await spawnServer('server/main.ts', env);
  const b = await spawnServer('server/main.ts', env);
  const floor = await spawnServer('bench/pg-floor-server.ts', { DATABASE_URL: db.url });
  try {
    await createAccounts(a.base, accounts);
    const one: number[] = [];
    const two: number[] = [];
    const f: number[] = [];
    await load([a.base, b.base], 'usage', { seconds: 1 }); // warm-up
    await load([floor.base], 'floor', { seconds: 1 });
    for (let i = 0; i < runs; i += 1) {
      f.push((await load([floor.base], 'floor')).perSecond);
      one.push((await load([a.base], 'usage')).perSecond);
      two.push((await load([a.base, b.base], 'usage')).perSecond);
    }
    const trips = await roundTripsPerUsage(db.url);
    return [
      {
        figure: 'Floor: bare Hono route, one PostgreSQL transaction per request',
        value: `${median(f).toFixed(0)} req/s (BEGIN, one UPDATE … RETURNING, COMMIT; pool of 10)`,
        goal: '—',
      },
      {
        figure: 'PostgreSQL usage calls ÷ floor',
        value: `${median(one.map((x, i) => x / f[i])).toFixed(2)}× (1 API process)`,
        goal: '≥ 0.6×',
      },
      {
        figure: 'PostgreSQL round trips per usage call',
        value: `${trips.drawing} drawing on a package, ${trips.plan} from the plan alone (counted on the socket)`,
        goal: '≤ 4',
      },
      {
        figure: 'PostgreSQL usage calls, 1 API process',
        value: `${median(one).toFixed(0)} req/s`,
        goal: '—',
      },
      {
        figure: 'PostgreSQL usage calls, 2 API processes (same run)',
        value: `${median(two).toFixed(0)} req/s (${(median(two) / median(one)).toFixed(2)}×)`,
        goal: '—',
      },
    ];
  } finally {
    await floor.stop();
    await a.stop();
    await b.stop();
    await db.drop();
    tmp.remove();
  }
}

/**
 * Round trips a usage call makes to PostgreSQL, counted on the connection's
 * socket, in process: a run of writes with no answer read in between is one
 * round trip (pipelined statements go out together), whatever the number of
 * statements in it.
 */
async function roundTripsPerUsage(url: string): Promise<{ drawing: number; plan: number }> {
  const store = await PostgresStore.open(url, { poolMax: 1 });
  let trips = 0;
  let answered = true;
  const watched = new WeakSet<object>();
  store.pool.on('acquire', (client: pg.PoolClient) => {
    const stream = (
      client as unknown as { connection: { stream: NodeJS.WritableStream & NodeJS.EventEmitter } }
    ).connection.stream;
    if (watched.has(stream)) return;
    watched.add(stream);
    const write = stream.write.bind(stream);
    stream.write = ((...args: Parameters<typeof write>) => {
      if (answered) trips += 1;
      answered = false;
      return write(...args);
    }) as typeof stream.write;
    stream.on('data', () => (answered = true));
  });
  const app = createApp({
    store,
    gateway: new TestPaymentGateway(),
    config: { secretKey: SECRET, catalog: defaultCatalog },
  });
  const count = async (fn: () => Promise<unknown>) => {
    await fn(); // warm: prepared statements, the connection
    const before = trips;
    await fn();
    return trips - before;
  };
  let n = 0;
  await app.ledger.putAccount('trips-plan', 'scale');
  await app.ledger.putAccount('trips-extra', 'starter');
  await app.ledger.recordUsage('trips-extra', 'all-the-plan', 500 * 60);
  await app.ledger.buy('trips-extra', 'large', 'trips-key');
  const plan = await count(() => app.ledger.recordUsage('trips-plan', `p-${++n}`, 60));
  const drawing = await count(() => app.ledger.recordUsage('trips-extra', `e-${++n}`, 60));
  await store.close();
  return { drawing, plan };
}
