import type pg from 'pg';
import { createApp } from '../server/app.js';
import { defaultCatalog } from '../server/domain/index.js';
import { TestPaymentGateway } from '../server/payments/test-gateway.js';
import { PostgresStore } from '../server/store/postgres.js';
import { freshPostgresDatabase } from '../test/support/pg.js';
import type { Row } from './http.js';
import { auth, createAccounts, load, median, SECRET, spawnServer, tempDir } from './util.js';

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
    const single: number[] = [];
    const f: number[] = [];
    await load([a.base, b.base], 'usage', { seconds: 1 }); // warm-up
    await load([floor.base], 'floor', { seconds: 1 });
    for (let i = 0; i < runs; i += 1) {
      f.push((await load([floor.base], 'floor')).perSecond);
      one.push((await load([a.base], 'usage')).perSecond);
      two.push((await load([a.base, b.base], 'usage')).perSecond);
      // Every call on one account: they queue on its row lock.
      single.push((await load([a.base], 'usage', { accounts: 1 })).perSecond);
    }
    const trips = await roundTrips(db.url);
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
        figure: 'PostgreSQL round trips per purchase',
        value: `${trips.purchase.total} (${trips.purchase.perTransaction.join(' + ')}: intent, credit; ${trips.purchaseWithWebhooks.total} with webhooks on; approved card, test gateway; counted on the socket)`,
        goal: '—',
      },
      {
        figure: 'PostgreSQL purchase, in process',
        value: `${trips.purchaseMs.toFixed(1)} ms median (in process, pool of 1; the test gateway answers at once — a real charge adds its network call)`,
        goal: '—',
      },
      {
        figure: 'PostgreSQL usage calls, 1 API process',
        value: `${median(one).toFixed(0)} req/s`,
        goal: '—',
      },
      {
        figure: 'PostgreSQL usage calls on one account (its row lock), 1 API process',
        value: `${median(single).toFixed(0)} req/s (${median(single.map((x, i) => x / one[i])).toFixed(2)}× ten accounts)`,
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
 * Counts the round trips a store's connections make to PostgreSQL, on their
 * sockets: a run of writes with no answer read in between is one round trip
 * (pipelined statements go out together), whatever the number of statements
 * in it. `perTransaction` lists, from the last `reset`, the round trips of
 * each transaction in order (the store is used by one caller at a time).
 */
function watchRoundTrips(store: PostgresStore): {
  readonly trips: number;
  perTransaction: number[];
  reset(): void;
} {
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
  const counter = {
    get trips() {
      return trips;
    },
    perTransaction: [] as number[],
    reset() {
      counter.perTransaction = [];
    },
  };
  const transact = store.transact.bind(store);
  store.transact = async (fn, options) => {
    const before = trips;
    try {
      return await transact(fn, options);
    } finally {
      counter.perTransaction.push(trips - before);
    }
  };
  return counter;
}

/** Round trips of the second run of `fn` (the first warms the prepared statements, the connection). */
async function countTrips(
  counter: ReturnType<typeof watchRoundTrips>,
  fn: () => Promise<unknown>,
): Promise<{ total: number; perTransaction: number[] }> {
  await fn();
  const before = counter.trips;
  counter.reset();
  await fn();
  return { total: counter.trips - before, perTransaction: [...counter.perTransaction] };
}

/**
 * Round trips a usage call and a package purchase make to PostgreSQL,
 * counted on the connection's socket (`watchRoundTrips`), in process. The
 * purchase goes through the HTTP route with the test gateway approving the
 * card: its transactions are the intent's and the credit's (the test
 * gateway's charge journal is a file, not the database).
 */
async function roundTrips(url: string): Promise<{
  drawing: number;
  plan: number;
  purchase: { total: number; perTransaction: number[] };
  /** The same purchase with the host's webhooks on (events written to the outbox). */
  purchaseWithWebhooks: { total: number; perTransaction: number[] };
  /** A purchase's median time, ms, in process on a pool of 1 (the test gateway answers at once). */
  purchaseMs: number;
}> {
  const store = await PostgresStore.open(url, { poolMax: 1 });
  const counter = watchRoundTrips(store);
  const app = createApp({
    store,
    gateway: new TestPaymentGateway(),
    config: { secretKey: SECRET, catalog: defaultCatalog },
  });
  const count = async (fn: () => Promise<unknown>) => (await countTrips(counter, fn)).total;
  let n = 0;
  await app.ledger.putAccount('trips-plan', 'scale');
  await app.ledger.putAccount('trips-extra', 'starter');
  await app.ledger.recordUsage('trips-extra', 'all-the-plan', 500 * 60);
  await app.ledger.buy('trips-extra', 'large', 'trips-key');
  const plan = await count(() => app.ledger.recordUsage('trips-plan', `p-${++n}`, 60));
  const drawing = await count(() => app.ledger.recordUsage('trips-extra', `e-${++n}`, 60));
  const buy = (through: typeof app) => async () => {
    const res = await through.request('/v1/accounts/trips-plan/purchases', {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': `buy-${++n}` },
      body: JSON.stringify({ packageId: 'small' }),
    });
    if (res.status !== 201) throw new Error(`purchase answered ${res.status}`);
  };
  const purchase = await countTrips(counter, buy(app));
  const withWebhooks = createApp({
    store,
    gateway: new TestPaymentGateway(),
    config: { secretKey: SECRET, catalog: defaultCatalog },
    webhooks: { kick: () => undefined },
  });
  const purchaseWithWebhooks = await countTrips(counter, buy(withWebhooks));
  const ms: number[] = [];
  for (let i = 0; i < 100; i += 1) {
    const started = performance.now();
    await buy(app)();
    ms.push(performance.now() - started);
  }
  await store.close();
  return { drawing, plan, purchase, purchaseWithWebhooks, purchaseMs: median(ms) };
}
