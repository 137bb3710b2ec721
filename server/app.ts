import { Hono } from 'hono';
import { systemClock, type Clock } from './clock.js';
import { catalogDto, DEFAULT_LOW_THRESHOLD, type Catalog } from './domain/index.js';
import type { WebhookDeliveryListDto } from '../contract/index.js';
import { corsHeaders } from './http/cors.js';
import { authenticate, secretOnly, tokenIssuer, type AuthEnv } from './http/auth.js';
import { describeIssues, schemas } from './http/validation.js';
import { readBody } from './http/body.js';
import { errorHandler, HttpError, notFound } from './http/errors.js';
import { openApiDocument } from './http/openapi.js';
import { DEFAULT_RATE_LIMITS } from './http/rate-limit.js';
import { Ledger } from './ledger/ledger.js';
import { LiveBalances } from './live/balances.js';
import type { PaymentGateway } from './payments/gateway.js';
import { accountRoutes } from './routes/accounts.js';
import { sessionRoutes } from './routes/sessions.js';
import { stripeWebhookRoutes, type StripeWebhookVerifier } from './routes/webhooks.js';
import type { LedgerStore } from './store/types.js';

/**
 * What `createApp` uses for a value its config leaves out, and what
 * `loadConfig` falls back to when the environment says nothing: each default
 * is defined once, here or beside the rule it belongs to.
 */
export const APP_DEFAULTS = {
  /** Fraction of the allowance at or below which the warning is `low`. */
  lowThreshold: DEFAULT_LOW_THRESHOLD,
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: 16 * 1024,
  /** Lifetime of a widget token when the request names none. */
  tokenTtlSeconds: 900,
  /** The limits of a server (`loadConfig`); `createApp` without `rateLimits` applies none. */
  rateLimits: DEFAULT_RATE_LIMITS,
  /** Live balance streams (`GET /v1/accounts/:id/events`). */
  live: { heartbeatMs: 15_000, maxStreamsPerAccount: 20 },
} as const;

export interface AppConfig {
  secretKey: string;
  catalog: Catalog;
  /** Origins allowed to call the API from a browser (`*` for any). */
  corsOrigins?: string[];
  lowThreshold?: number;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** Default lifetime of a widget token. */
  tokenTtlSeconds?: number;
  /** Live balance streams: a comment this often (default 15 s), and at most so many per account (default 20). */
  live?: { heartbeatMs?: number; maxStreamsPerAccount?: number };
  /**
   * Per-account limits on minting widget tokens, on purchases and on widget
   * reads (a widget token's GETs of its account; the secret key's reads are
   * not limited), per minute of the injected clock, in this process's
   * memory. A field left out takes `APP_DEFAULTS.rateLimits`; `0` or
   * `Infinity` switches it off. Leaving out
   * `rateLimits` altogether applies no limits (tests and the in-browser mock);
   * the server (`loadConfig`) always passes them.
   */
  rateLimits?: {
    sessionsPerMinute?: number;
    purchasesPerMinute?: number;
    readsPerMinute?: number;
  };
}

export interface AppDeps {
  store: LedgerStore;
  gateway: PaymentGateway;
  config: AppConfig;
  clock?: Clock;
  newId?: () => string;
  /** Where unexpected errors (answered 500) are reported; stderr by default. */
  logError?: (err: Error) => void;
  /**
   * The routes serving the built widget at `/widget/…` to anyone
   * (`widgetBundleRoutes(dir)`); left out, they are not mounted. Passed in, so
   * the in-browser mock API never imports the file system.
   */
  widgetBundle?: Hono;
  /** With Stripe payments: checks and reads Stripe's webhooks (`POST /v1/webhooks/stripe`). */
  stripeWebhooks?: StripeWebhookVerifier;
  /**
   * Webhooks to the host (`WebhookDelivery`): given, the ledger writes its
   * events to the outbox and tells it after each commit that wrote some.
   */
  webhooks?: { kick(): void };
}

/**
 * The minute-topup API as a Hono app. Everything it touches is passed in, so
 * tests run it through `app.request()` and the browser mocks run it over an
 * in-memory store.
 */
export function createApp(deps: AppDeps) {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  // The open event streams, fed by the ledger after each commit (and, with
  // PostgreSQL, by the other processes' NOTIFYs: see `main.ts`).
  const live = new LiveBalances({
    readBalance: (accountId) => ledger.balance(accountId),
    maxStreamsPerAccount:
      config.live?.maxStreamsPerAccount ?? APP_DEFAULTS.live.maxStreamsPerAccount,
    logError: deps.logError,
  });
  const ledger = new Ledger({
    onChange: (accountId, version) => live.changed(accountId, version),
    logError: deps.logError,
    store: deps.store,
    catalog: config.catalog,
    gateway: deps.gateway,
    clock,
    newId: deps.newId,
    lowThreshold: config.lowThreshold ?? APP_DEFAULTS.lowThreshold,
    webhooks: deps.webhooks && { written: () => deps.webhooks?.kick() },
  });
  const tokens = tokenIssuer(config.secretKey, clock);
  const catalog = catalogDto(config.catalog);

  const app = new Hono<AuthEnv>();
  app.onError(errorHandler(deps.logError));
  app.notFound(notFound);
  app.use(
    '/v1/*',
    corsHeaders({
      origins: config.corsOrigins ?? [],
      allowMethods: ['GET', 'POST', 'PUT', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'],
      // So that the widget can read how long a 429 asks it to wait.
      exposeHeaders: ['Retry-After'],
      maxAgeSeconds: 600,
    }),
  );
  // Bodies are read here, within the limit; a client that aborts mid-body gets a 400.
  app.use('/v1/*', readBody({ maxBytes: config.maxBodyBytes ?? APP_DEFAULTS.maxBodyBytes }));

  if (deps.widgetBundle) app.route('/widget', deps.widgetBundle);
  app.get('/v1/catalog', (c) => c.json(catalog));
  app.get('/v1/openapi.json', (c) => c.json(openApiDocument()));
  // Before the secured routes: Stripe signs its webhooks instead of bearing a key.
  if (deps.stripeWebhooks)
    app.route('/v1/webhooks', stripeWebhookRoutes(ledger, deps.stripeWebhooks));

  const secured = new Hono<AuthEnv>();
  secured.use(authenticate(config.secretKey, tokens));
  // Without `rateLimits` (tests, the in-browser mock) nothing is limited.
  const limits = config.rateLimits;
  const perMinute = (name: keyof typeof APP_DEFAULTS.rateLimits) =>
    limits ? (limits[name] ?? APP_DEFAULTS.rateLimits[name]) : 0;
  secured.route(
    '/sessions',
    sessionRoutes(ledger, tokens, {
      ttlSeconds: config.tokenTtlSeconds ?? APP_DEFAULTS.tokenTtlSeconds,
      perMinute: perMinute('sessionsPerMinute'),
      clock,
    }),
  );
  secured.route(
    '/accounts',
    accountRoutes(ledger, {
      purchasesPerMinute: perMinute('purchasesPerMinute'),
      readsPerMinute: perMinute('readsPerMinute'),
      clock,
      live,
      heartbeatMs: config.live?.heartbeatMs ?? APP_DEFAULTS.live.heartbeatMs,
    }),
  );
  secured.get('/webhooks/deliveries', secretOnly, async (c) => {
    const query = schemas.webhookDeliveries.safeParse(c.req.query());
    if (!query.success) throw new HttpError('invalid_request', describeIssues(query.error));
    const body: WebhookDeliveryListDto = {
      deliveries: await ledger.webhookDeliveries(query.data.status, query.data.limit),
    };
    return c.json(body);
  });
  app.route('/v1', secured);

  return Object.assign(app, { ledger, tokens, live });
}

export type App = ReturnType<typeof createApp>;
