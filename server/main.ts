import { serve } from '@hono/node-server';
import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createApp } from './app.js';
import { isPostgresUrl, loadConfig } from './config.js';
import { TestPaymentGateway, type RecordedCharge } from './payments.js';
import { openStore } from './store/open.js';

/**
 * The test gateway's charges are kept in a JSON-lines file beside the SQLite
 * database, so that a restarted process still knows which purchases were
 * charged (as a real processor would) and never charges a key twice.
 */
function persistentTestGateway(databaseUrl: string, declineFor: string[]): TestPaymentGateway {
  const file = isPostgresUrl(databaseUrl)
    ? join('data', 'test-gateway-charges.jsonl')
    : `${databaseUrl}.charges.jsonl`;
  const charges: RecordedCharge[] = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RecordedCharge)
    : [];
  mkdirSync(dirname(file), { recursive: true });
  const gateway = new TestPaymentGateway({ declineFor, charges });
  gateway.onCharge = (charge) =>
    appendFileSync(file, `${JSON.stringify(charge)}\n`, { flush: true });
  return gateway;
}

export async function main(): Promise<void> {
  const config = loadConfig();
  const store = await openStore(config.databaseUrl);
  const gateway = persistentTestGateway(config.databaseUrl, config.declineAccounts);
  const app = createApp({ store, gateway, config });
  const completed = await app.ledger.completePendingPurchases();
  if (completed > 0) console.log(`Completed ${completed} purchase(s) interrupted by a restart.`);
  const demo = config.demo
    ? await (await import('../demo/host.js')).mountDemo(app, { config, store, gateway })
    : undefined;

  const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
    console.log(`minute-topup API on http://localhost:${info.port}/v1 (${store.kind} store)`);
    if (demo) console.log(`Demo dashboard on http://localhost:${info.port}/demo/billing`);
    if (config.secretKeyGenerated) {
      console.log(`No MINUTE_TOPUP_SECRET_KEY set: made one up for this run: ${config.secretKey}`);
    }
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight requests, then closing the database.`);
    server.close(async () => {
      await demo?.close();
      await store.close();
      process.exit(0);
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
