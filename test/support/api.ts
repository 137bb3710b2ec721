import assert from 'node:assert/strict';
import { createApp, type App, type AppConfig, type AppDeps } from '../../server/app.js';
import { defaultCatalog } from '../../server/domain/catalog.js';
import { Ledger } from '../../server/ledger/ledger.js';
import type { PaymentGateway } from '../../server/payments/gateway.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import { PostgresStore } from '../../server/store/postgres.js';
import { after } from 'node:test';
import { freshPostgresDatabase } from './pg.js';
import type { LedgerAudit, LedgerStore } from '../../server/store/types.js';

export const SECRET = 'sk_test_0123456789abcdef0123456789abcdef';

/** A clock a test moves by hand. */
export function manualClock(start = Date.parse('2026-03-10T12:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** A Ledger on a fresh memory store, at a time the test sets (`setNow`). */
export function ledgerAt(startIso: string, lowThreshold?: number) {
  let t = Date.parse(startIso);
  const ledger = new Ledger({
    store: new MemoryStore(),
    catalog: defaultCatalog,
    gateway: new TestPaymentGateway(),
    clock: { now: () => t },
    lowThreshold,
  });
  return { ledger, setNow: (iso: string) => void (t = Date.parse(iso)) };
}

export type StoreFactory = { name: string; open(): Promise<LedgerStore> };

/**
 * PostgreSQL for the contract tests: one fresh database per test file, emptied
 * before each test; the store a test opened is closed when the next opens.
 */
async function postgresFactory(): Promise<StoreFactory | null> {
  const db = await freshPostgresDatabase();
  if (!db) return null;
  let current: PostgresStore | null = null;
  after(async () => {
    await current?.close();
    await db.drop();
  });
  return {
    name: 'postgres',
    async open() {
      await current?.close();
      current = await PostgresStore.open(db.url, { poolMax: 4 });
      await current.pool.query(
        'TRUNCATE usage_allocations, usages, purchase_intents, purchases, cycles, accounts, payment_events, auto_topups, webhook_outbox',
      );
      return current;
    },
  };
}

const postgres = await postgresFactory();

/** The stores every contract test runs against: one source, every store. */
export const storeFactories: StoreFactory[] = [
  { name: 'sqlite', open: async () => new SqliteStore(':memory:') },
  { name: 'memory', open: async () => new MemoryStore() },
  ...(postgres ? [postgres] : []),
];

export interface Fixture<G extends PaymentGateway = TestPaymentGateway> {
  app: App;
  store: LedgerStore;
  gateway: G;
  clock: ReturnType<typeof manualClock>;
  /** Errors the app answered with a 500. */
  unexpected: Error[];
  /** A request with the secret key (unless `auth` says otherwise). */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; auth?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

/**
 * The API over `store` with a manual clock and the test gateway (or
 * `deps.gateway`); `config` adds to the test config. With `deps.webhooks`
 * the ledger writes its events to the outbox (nothing delivers them unless
 * the test does).
 */
export async function fixture<G extends PaymentGateway = TestPaymentGateway>(
  store: LedgerStore,
  config: Partial<AppConfig> = {},
  deps: Pick<AppDeps, 'widgetBundle' | 'stripeWebhooks' | 'webhooks'> & { gateway?: G } = {},
): Promise<Fixture<G>> {
  const clock = manualClock();
  const gateway = deps.gateway ?? (new TestPaymentGateway() as PaymentGateway as G);
  const unexpected: Error[] = [];
  const app = createApp({
    store,
    gateway,
    clock,
    logError: (err) => unexpected.push(err),
    widgetBundle: deps.widgetBundle,
    stripeWebhooks: deps.stripeWebhooks,
    webhooks: deps.webhooks,
    config: {
      secretKey: SECRET,
      catalog: defaultCatalog,
      corsOrigins: ['https://host.example'],
      ...config,
    },
  });
  return {
    app,
    unexpected,
    store,
    gateway,
    clock,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const auth = options.auth === undefined ? SECRET : options.auth;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await app.request(path, { method, headers, body });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
  };
}

/**
 * Asserts the ledger's invariants on what the store's rows add up to: the
 * maintained counters equal the rows; each purchase's total − allocations =
 * remaining ≥ 0; plan used ≤ allowance per cycle; each usage's seconds =
 * from plan + from extra + overage.
 */
export function assertInvariants(audit: LedgerAudit, allowanceOf?: (accountId: string) => number) {
  for (const a of audit.accounts) {
    assert.equal(a.extraRemainingSeconds, a.sumPurchaseRemaining, `extra counter of ${a.id}`);
    assert.equal(a.activePackages, a.countActive, `active packages of ${a.id}`);
  }
  for (const p of audit.purchases) {
    assert.ok(p.remainingSeconds >= 0, `purchase ${p.id} negative`);
    // A refund voids what remained: bought = drawn + voided + remaining.
    assert.equal(p.totalSeconds - p.allocated - p.refunded, p.remainingSeconds, `purchase ${p.id}`);
  }
  for (const c of audit.cycles) {
    assert.equal(c.planUsedSeconds, c.sumFromPlan, 'plan counter');
    assert.equal(c.extraUsedSeconds, c.sumFromExtra, 'extra-used counter');
    assert.equal(c.overageSeconds, c.sumOverage, 'overage counter');
    if (allowanceOf) assert.ok(c.planUsedSeconds <= allowanceOf(c.accountId), 'plan overdrawn');
  }
  for (const u of audit.usages) {
    assert.equal(u.seconds, u.fromPlan + u.fromExtra + u.overage, `usage ${u.callId}`);
  }
}
