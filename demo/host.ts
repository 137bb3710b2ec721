import { dirname, join } from 'node:path';
import { createApp, type App } from '../server/app.js';
import type { ServerConfig } from '../server/config.js';
import { TestPaymentGateway } from '../server/payments/test-gateway.js';
import type { PaymentGateway } from '../server/payments/gateway.js';
import { MemoryStore } from '../server/store/memory.js';
import { isPostgresUrl } from '../server/store/options.js';
import { SqliteStore } from '../server/store/sqlite.js';
import type { LedgerStore } from '../server/store/types.js';
import { demoAccounts, partnerCatalog, seedDemo } from './seed.js';
import { demoRoutes } from './server.js';
import { WebhookInbox } from './webhooks.js';

/**
 * Adds the demo to the API process: seeds the demo accounts, mounts the
 * partner's API (a EUR catalog on its own small ledger) under `/partner`, and
 * serves the dashboard pages, the widget bundle and the demo's host backend —
 * with its webhook endpoint when the API's webhooks come to the demo.
 */
export async function mountDemo(
  app: App,
  options: {
    config: ServerConfig;
    store: LedgerStore;
    gateway: TestPaymentGateway;
    /**
     * The secret the API signs its webhooks with when they come to the demo
     * (`POST /demo/webhooks`, no MINUTE_TOPUP_WEBHOOK_URL set); undefined when
     * they go to the host's own endpoint.
     */
    webhookSecret?: string;
  },
): Promise<{ close(): Promise<void> }> {
  const { config, store, gateway, webhookSecret } = options;
  const partnerStore: LedgerStore = isPostgresUrl(config.databaseUrl)
    ? new MemoryStore()
    : new SqliteStore(join(dirname(config.databaseUrl), 'partner-demo.db'));
  const partnerGateway = new TestPaymentGateway();
  const partner = createApp({
    store: partnerStore,
    gateway: partnerGateway,
    // Its own key: a token minted for the main API is not valid here. The
    // main API's rate limits (its body limit is the default).
    config: {
      secretKey: `${config.secretKey}:partner`,
      catalog: partnerCatalog,
      rateLimits: config.rateLimits,
    },
  });
  // The start of the current UTC day: seeding is deterministic within a day, so
  // several processes starting at once on one database write identical rows.
  const now = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  await seedDemo(store, config.catalog, gateway, now);
  await seedDemo(partnerStore, partnerCatalog, partnerGateway, now);
  for (const account of demoAccounts) {
    if (!account.declining) continue;
    for (const g of [gateway, partnerGateway] satisfies PaymentGateway[])
      g.setDeclining(account.id);
  }
  app.route('/partner', partner);
  app.route(
    '/',
    demoRoutes({
      main: { ledger: app.ledger, tokens: app.tokens },
      partner: { ledger: partner.ledger, tokens: partner.tokens },
      webhooks: webhookSecret
        ? new WebhookInbox({ secret: webhookSecret, catalog: config.catalog })
        : undefined,
    }),
  );
  return { close: () => partnerStore.close() };
}
