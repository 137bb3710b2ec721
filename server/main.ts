import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type App } from './app.js';
import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import { FileChargeJournal } from './payments/charge-journal.js';
import { PostgresNotices } from './live/postgres-notices.js';
import { StripeGateway } from './payments/stripe.js';
import { TestPaymentGateway } from './payments/test-gateway.js';
import { widgetBundleRoutes } from './routes/widget-bundle.js';
import { WebhookDelivery } from './webhooks/delivery.js';
import { openStore } from './store/open.js';
import { isPostgresUrl } from './store/options.js';
import type { LedgerStore } from './store/types.js';

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
 * its minutes are credited; `MINUTE_TOPUP_TEST_CRASH_BEFORE_AUTO_CHARGE=<accountId>`
 * kills it when an auto top-up of that account is about to be charged (its
 * purchase queued and committed with a usage, nothing charged yet).
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
  const crashBeforeAutoChargeOf = env.MINUTE_TOPUP_TEST_CRASH_BEFORE_AUTO_CHARGE || undefined;
  if (crashBeforeAutoChargeOf) {
    const charge = gateway.charge.bind(gateway);
    gateway.charge = (request) => {
      if (request.offSession && request.accountId === crashBeforeAutoChargeOf) {
        process.kill(process.pid, 'SIGKILL');
      }
      return charge(request);
    };
  }
  return gateway;
}

/** The folder `npm run build` writes the widget to, served at `/widget/…`. */
const WIDGET_BUNDLE_DIR = fileURLToPath(new URL('../dist/', import.meta.url));

/** What an operator must fix: printed as one line on stderr, exit status 1, no stack. */
class StartupError extends Error {}

function fail(message: string): never {
  console.error(`minute-topup: ${message.replace(/\s*[\r\n]+\s*/g, ' ')}`);
  process.exit(1);
}

/** `http://host:port` of a listening server, IPv6 addresses in brackets. */
function origin(server: ServerType): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Binds `host:port`; a refusal becomes one sentence naming PORT or HOST. */
function listen(server: ServerType, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      const why =
        error.code === 'EADDRINUSE'
          ? `PORT ${port} is already in use on ${host}: stop what listens there or set PORT to a free port.`
          : error.code === 'EACCES'
            ? `PORT ${port} needs privileges this process does not have (EACCES on ${where}): set PORT to 1024 or above.`
            : error.code === 'EADDRNOTAVAIL'
              ? `HOST ${host} is not an address of this machine (EADDRNOTAVAIL): set HOST to one of its addresses, or 0.0.0.0.`
              : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
                ? `HOST ${host} does not resolve (${error.code}): set HOST to an address of this machine.`
                : `cannot listen on ${where} (HOST, PORT): ${error.code ?? error.message}.`;
      reject(new StartupError(why));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Starts the API. The order makes every mistake an operator can fix cheap:
 * configuration is read (and refused, one line) first; then the port is
 * bound — before any database is opened or migrated, and held from then on,
 * so nothing can take it between a check and the real listen; then the store
 * opens. Requests that arrive meanwhile wait for it.
 */
export async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  // Requests that arrive while the store opens wait for the app; once it is
  // ready, they go straight to it (no extra await per request).
  let appReady!: (app: App) => void;
  /** The open live balance streams, ended first at shutdown (they never end by themselves). */
  let liveStreams: App['live'] | undefined;
  const ready = new Promise<App>((resolve) => (appReady = resolve));
  let handle: App['fetch'] = (request, env) => ready.then((app) => app.fetch(request, env));
  void ready.then((app) => (handle = app.fetch));
  const server = createAdaptorServer({ fetch: (request, env) => handle(request, env) });
  try {
    await listen(server, config.host, config.port);
  } catch (error) {
    if (error instanceof StartupError) fail(error.message);
    throw error;
  }

  const opening = (async () => {
    let store: LedgerStore;
    try {
      store = await openStore(config.databaseUrl, config);
    } catch (error) {
      fail(`the database of DATABASE_URL could not be opened: ${(error as Error).message}`);
    }
    try {
      return await startApp(store);
    } catch (error) {
      // A database that opened but fails its first work (recovery, seeding): one line, no stack.
      fail(`could not start on the database of DATABASE_URL: ${(error as Error).message}`);
    }
  })();

  async function startApp(store: LedgerStore) {
    const stripe = config.stripe && new StripeGateway(config.stripe);
    const testGateway = stripe
      ? null
      : persistentTestGateway(config.databaseUrl, config.declineAccounts);
    const gateway = stripe ?? testGateway!;
    // The host's endpoint; without one, the demo receives them itself.
    const hooks =
      config.webhooks ??
      (config.demo
        ? {
            url: `${origin(server)}/demo/webhooks`,
            secret: `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`,
            retryBaseMs: config.webhookRetryBaseMs,
          }
        : null);
    const webhooks = hooks && new WebhookDelivery({ store, ...hooks });
    const app = createApp({
      store,
      gateway,
      config,
      widgetBundle: widgetBundleRoutes(WIDGET_BUNDLE_DIR),
      stripeWebhooks: stripe ?? undefined,
      webhooks: webhooks ?? undefined,
    });
    const completed = await app.ledger.completePendingPurchases((intent, error) =>
      console.error(
        `Could not complete the interrupted purchase ${intent.idempotencyKey} of ${intent.accountId}:`,
        error,
      ),
    );
    if (completed > 0) console.log(`Completed ${completed} purchase(s) interrupted by a restart.`);
    // The demo runs on the test gateway only (`loadConfig` refuses it with Stripe).
    const demo =
      config.demo && testGateway
        ? await (
            await import('../demo/host.js')
          ).mountDemo(app, {
            config,
            store,
            gateway: testGateway,
            webhookSecret: config.webhooks ? undefined : hooks?.secret,
          })
        : undefined;
    webhooks?.start();
    // Auto top-ups a dead process queued, or that gave up asking: carried on by any process.
    const sweeping = setInterval(() => {
      void app.ledger
        .completeStaleAutoTopups()
        .catch((error: unknown) => console.error('minute-topup: auto top-up sweep:', error));
    }, 60_000);
    sweeping.unref();
    // PostgreSQL: the changes every process commits reach the streams held here.
    const notices =
      store.kind === 'postgres'
        ? await PostgresNotices.start({
            url: config.databaseUrl,
            onChange: (accountId, version) => app.live.changed(accountId, version),
            onReconnect: () => app.live.refreshAll(),
            logError: (message) => console.error(message),
          })
        : undefined;
    liveStreams = app.live;
    appReady(app);
    return { store, demo, notices, webhooks, ledger: app.ledger };
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    liveStreams?.closeAll();
    server.close(async () => {
      clearInterval(closingIdle);
      try {
        // A signal during start-up lets the store finish opening, then closes it.
        const { store, demo, notices, webhooks, ledger } = await opening;
        await ledger.autoTopupsSettled();
        await webhooks?.stop();
        await demo?.close();
        await notices?.close();
        await store.close();
      } catch (error) {
        console.error('minute-topup: the database did not close cleanly:', error);
        process.exit(1);
      }
      process.exit(0);
    });
    // Said once new connections are refused (close() stops listening at once).
    console.log(`${signal}: finishing in-flight requests, then closing the database.`);
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

  const { store, demo } = await opening;
  const base = origin(server);
  const mode = config.production ? 'production' : 'development';
  console.log(`minute-topup API on ${base}/v1 (${store.kind} store, ${mode}, pid ${process.pid})`);
  console.log(`Widget bundle on ${base}/widget/minute-topup.js`);
  if (demo) console.log(`Demo dashboard on ${base}/demo/billing`);
  if (config.stripe) {
    console.log(`Payments with Stripe; webhooks at ${base}/v1/webhooks/stripe`);
  } else if (config.production) {
    console.log('MINUTE_TOPUP_PAYMENTS=test: purchases are approved without charging anyone.');
  }
  if (config.webhooks) {
    console.log(
      `Webhooks to ${config.webhooks.url} (signed; GET /v1/webhooks/deliveries lists them)`,
    );
  }
  if (config.secretKeyGenerated) {
    console.log(`No MINUTE_TOPUP_SECRET_KEY set: made one up for this run: ${config.secretKey}`);
  }
}

await main();
