import { APP_DEFAULTS, createApp } from '../app.js';
import { defaultCatalog } from '../domain/catalog.js';
import { TestPaymentGateway } from '../payments/test-gateway.js';
import { MemoryStore } from '../store/memory.js';
import { randomUuid } from '../../contract/random-uuid.js';
import type { AutoTopupRequest, TokenScope } from '../../contract/index.js';
import type { MockApi, MockApiOptions } from './mock-api-types.js';

/**
 * The real minute-topup API, running wherever `fetch` runs (a browser, a
 * service worker, Node) over an in-memory ledger. The browser mocks wrap its
 * `fetch` in msw handlers; tests use the helpers to set the scene.
 *
 * @example
 * const api = await createMockApi({ accounts: [{ id: 'acme', usedSeconds: 27_000 }] });
 * const token = await api.mintToken('acme'); // or ('acme', 900, 'view'): no buying
 * const res = await api.fetch(new Request('http://x/v1/accounts/acme/balance',
 *   { headers: { authorization: `Bearer ${token}` } }));
 */
export async function createMockApi(
  options: MockApiOptions = {},
): Promise<MockApi & { gateway: TestPaymentGateway }> {
  const catalog = options.catalog ?? defaultCatalog;
  const secretKey = options.secretKey ?? 'sk_mock_0123456789abcdef0123456789';
  const store = new MemoryStore();
  const gateway = new TestPaymentGateway();
  const app = createApp({
    store,
    gateway,
    clock: options.clock,
    config: { secretKey, catalog, corsOrigins: ['*'] },
  });
  const { ledger } = app;
  let calls = 0;
  /** Charges the seeds made: not counted by `chargeCount`. */
  let seededCharges = 0;

  const api = {
    gateway,
    secretKey,
    fetch: (request: Request): Promise<Response> => Promise.resolve(app.fetch(request)),
    async mintToken(
      accountId: string,
      ttlSeconds: number = APP_DEFAULTS.tokenTtlSeconds,
      scope: TokenScope = 'buy',
    ): Promise<string> {
      return (await app.tokens.mint(accountId, ttlSeconds, scope)).token;
    },
    async putAccount(id: string, planId = catalog.plans[0].id, cycleAnchor?: string) {
      return (await ledger.putAccount(id, planId, cycleAnchor)).account;
    },
    async buy(accountId: string, packageId: string) {
      return ledger.buy(accountId, packageId, `seed-${randomUuid()}`);
    },
    async recordUsage(accountId: string, seconds: number, callId = `mock-call-${++calls}`) {
      return ledger.recordUsage(accountId, callId, seconds);
    },
    async grant(accountId: string, minutes: number, reason: string) {
      return ledger.grant(accountId, minutes, reason, `grant-${randomUuid()}`);
    },
    async refund(accountId: string, purchaseId: string) {
      return ledger.refund(accountId, purchaseId, `refund-${randomUuid()}`);
    },
    async setAutoTopup(accountId: string, settings: AutoTopupRequest) {
      return ledger.putAutoTopup(accountId, settings);
    },
    autoTopupsSettled: () => ledger.autoTopupsSettled(),
    setDeclining(accountId: string, declining = true) {
      gateway.setDeclining(accountId, declining);
    },
    setRequiresAction(accountId: string, on = true) {
      gateway.setRequiresAction(accountId, on);
    },
    authenticate(clientSecret: string, ok = true) {
      gateway.authenticate(clientSecret, ok);
    },
    get chargeCount() {
      return gateway.chargeCount - seededCharges;
    },
  };

  for (const seed of options.accounts ?? []) {
    await api.putAccount(seed.id, seed.planId, seed.cycleAnchor);
    for (const pkg of seed.packages ?? []) await api.buy(seed.id, pkg);
    for (const grant of seed.grants ?? []) await api.grant(seed.id, grant.minutes, grant.reason);
    if (seed.usedSeconds) await api.recordUsage(seed.id, seed.usedSeconds);
    for (const seconds of seed.calls ?? []) await api.recordUsage(seed.id, seconds);
    if (seed.declining) api.setDeclining(seed.id);
    if (seed.autoTopup) await api.setAutoTopup(seed.id, seed.autoTopup);
  }
  seededCharges = gateway.chargeCount;
  return api;
}
