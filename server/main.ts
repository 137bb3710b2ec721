import { serve } from '@hono/node-server';
import { join } from 'node:path';
import { createApp } from './app.js';
import { isPostgresUrl, loadConfig } from './config.js';
import { FileChargeJournal } from './charge-journal.js';
import { TestPaymentGateway } from './payments.js';
import { openStore } from './store/open.js';

/**
 * The test gateway, with its charges in a file beside the SQLite database
 * (see `FileChargeJournal`), so that a restarted process — or another process
 * on the same database — knows which keys were charged and never charges one
 * twice, as a real processor would.
 *
 * Test-only knobs (reliability suites): `MINUTE_TOPUP_TEST_CHARGES_FILE` puts
 * the file elsewhere; `MINUTE_TOPUP_TEST_GATEWAY_DELAY_MS` makes each charge
 * take that long; `MINUTE_TOPUP_TEST_CRASH_AFTER_CHARGE=<accountId>` kills the
 * process (SIGKILL) right after a charge of that account is on file, before
 * its minutes are credited.
 */
function persistentTestGateway(
  databaseUrl: string,
  declineFor: string[],
  env: NodeJS.ProcessEnv = process.env,
): TestPaymentGateway {
  const file =
    env.MINUTE_TOPUP_TEST_CHARGES_FILE ||
    (isPostgresUrl(databaseUrl)
      ? join('data', 'test-gateway-charges.jsonl')
      : `${databaseUrl}.charges.jsonl`);
  const delayMs = Number(env.MINUTE_TOPUP_TEST_GATEWAY_DELAY_MS || 0);
  const crashAfterChargeOf = env.MINUTE_TOPUP_TEST_CRASH_AFTER_CHARGE || undefined;
  const gateway = new TestPaymentGateway({
    declineFor,
    delayMs,
    journal: new FileChargeJournal(file),
  });
  gateway.onCharge = (charge) => {
    if (charge.accountId === crashAfterChargeOf) process.kill(process.pid, 'SIGKILL');
  };
  return gateway;
}

export async function main(): Promise<void> {
  const config = loadConfig();
  const store = await openStore(config.databaseUrl, { sqliteMaxBatch: config.sqliteMaxBatch });
  const gateway = persistentTestGateway(config.databaseUrl, config.declineAccounts);
  const app = createApp({ store, gateway, config });
  const completed = await app.ledger.completePendingPurchases((intent, error) =>
    console.error(
      `Could not complete the interrupted purchase ${intent.idempotencyKey} of ${intent.accountId}:`,
      error,
    ),
  );
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
      clearInterval(closingIdle);
      try {
        await demo?.close();
        await store.close();
      } catch (error) {
        console.error('minute-topup: the database did not close cleanly:', error);
        process.exit(1);
      }
      process.exit(0);
    });
    // `close` stops accepting and waits for every open connection: end the
    // keep-alive ones as soon as their last request is answered, rather than
    // when the client lets them go.
    const closeIdle = () =>
      (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    closeIdle();
    const closingIdle = setInterval(closeIdle, 50);
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
