import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { APP_DEFAULTS } from '../server/app.js';
import type { TokenIssuer } from '../server/http/auth.js';
import { readBody } from '../server/http/body.js';
import { csvDownload } from '../server/http/csv.js';
import { HttpError } from '../server/http/errors.js';
import { rateLimit } from '../server/http/rate-limit.js';
import { idSchema, jsonBody, schemas } from '../server/http/validation.js';
import { systemClock, type Clock } from '../server/clock.js';
import type { Ledger } from '../server/ledger/ledger.js';
import { describeGrant, describeRefund, operatorRow } from './operator.js';
import { demoAccounts, type DemoAccount } from './seed.js';
import { describeAutoTopup, describeBalance, describeCall } from './story.js';
import type { WebhookInbox } from './webhooks.js';

/** One API the demo talks to: the main one, or the partner's (EUR catalog). */
export interface DemoTenant {
  ledger: Ledger;
  tokens: TokenIssuer;
}

export interface DemoOptions {
  main: DemoTenant;
  partner: DemoTenant;
  /** How long the demo's widget tokens live (short, to show the refresh). */
  tokenTtlSeconds?: number;
  /**
   * Largest body a `/demo/api/*` route or the webhook endpoint reads (the
   * API's 16 KiB by default).
   */
  maxBodyBytes?: number;
  /**
   * Requests to `/demo/api/*` one client (remote address) may make per minute
   * (120 by default; `0` or `Infinity`: no limit); as many again to the
   * panel's list of webhooks, and to the webhook endpoint.
   */
  requestsPerMinute?: number;
  /**
   * Where the API's webhooks are kept when they come to the demo
   * (`POST /demo/webhooks`); undefined when they go to the host's own
   * endpoint (MINUTE_TOPUP_WEBHOOK_URL), and the route is not mounted.
   */
  webhooks?: WebhookInbox;
  clock?: Clock;
}

/** The demo's defaults: the API's body limit, and two requests a second per client. */
export const DEMO_LIMITS = {
  maxBodyBytes: APP_DEFAULTS.maxBodyBytes,
  requestsPerMinute: 120,
} as const;

/** The page's poll of the received webhooks: counted apart from the other demo routes. */
const WEBHOOK_LIST = '/demo/api/webhooks';

/** The demo's webhook endpoint, where the API delivers: counted apart too. */
const WEBHOOK_ENDPOINT = '/demo/webhooks';

/**
 * The client a request counts against: its remote address. Behind
 * `@hono/node-server` that is the socket's peer; in `app.request()` (no
 * socket) every request is one local client.
 */
function clientOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'local';
  }
}

const knownAccount = z.enum(demoAccounts.map((a) => a.id) as [string, ...string[]]);
const tenant = z.enum(['main', 'partner']).default('main');

/**
 * Who is signed in to the dashboard, as the host knows it: the account's
 * owner may buy; a viewer (say, a colleague from accounting) only reads, so
 * the host backend asks the API for a `view` token for them.
 */
const role = z.enum(['owner', 'viewer']).default('owner');
const scopeOf = { owner: 'buy', viewer: 'view' } as const;

/**
 * The key the operator panel sends with a grant or a refund: one per
 * submission, the same again when it retries, so a double click or a lost
 * answer never grants or refunds twice. Stricter than the API's
 * `idempotencyKey` (1–255 visible characters): the demo's routes refuse a key
 * that is not 8–64 letters, digits or `-` (test/e2e/demo-operator-routes).
 */
function operatorKey(c: Context, action: 'grant' | 'refund'): string {
  const key = c.req.header('idempotency-key') ?? '';
  if (!/^[A-Za-z0-9-]{8,64}$/.test(key)) {
    throw new HttpError(
      'invalid_request',
      `Send an Idempotency-Key header (8–64 letters, digits or -) with every ${action}.`,
    );
  }
  // The operator's keys apart from the widget's purchase keys.
  return `demo-operator-${action}:${key}`;
}

/**
 * The demo dashboard and its small "host backend". The `/demo/api/*` routes
 * are what a customer's own backend does: it knows who is signed in, and uses
 * the secret key — which never reaches the page — to mint widget tokens (a
 * read-only one for a viewer), to record calls, and, for the operator panel,
 * to grant minutes, refund packages and export the ledger. Like the API,
 * they read at most 16 KiB of a body and answer a client that asks too often
 * with 429 and `Retry-After`.
 */
export function demoRoutes({
  main,
  partner,
  tokenTtlSeconds = 300,
  maxBodyBytes = DEMO_LIMITS.maxBodyBytes,
  requestsPerMinute = DEMO_LIMITS.requestsPerMinute,
  webhooks,
  clock = systemClock,
}: DemoOptions) {
  const tenants = { main, partner };
  const app = new Hono();

  // Cheap refusals first: too many requests, then a body too large (refused
  // as soon as it passes the limit, whether announced or chunked). Both guard
  // `/demo/api/*` and the webhook endpoint alike.
  const limitRate = rateLimit({
    limit: requestsPerMinute,
    clock,
    // Three counts per client address. The webhooks panel polls every two
    // seconds from each open Billing page: its reads have their own count, so
    // a few open tabs never use up what the buttons need. The API delivers
    // its webhooks from this machine, the same address as a local browser:
    // they have their own count too, so deliveries and the page never starve
    // each other (a delivery refused with 429 is sent again later).
    keyOf: (c) => {
      const client = clientOf(c);
      if (c.req.path === WEBHOOK_LIST) return `webhooks ${client}`;
      if (c.req.path === WEBHOOK_ENDPOINT) return `deliveries ${client}`;
      return client;
    },
    message: 'Too many demo requests from this address.',
  });
  // As the API: a client that aborts mid-body is a 400, not an unexpected error.
  const limitBody = readBody({ maxBytes: maxBodyBytes });
  app.use('/demo/api/*', limitRate, limitBody);

  // The account's description: a sentence from its live balance, one about
  // its auto top-up while that is on, then its note.
  const story = async (account: DemoAccount, ledger: Ledger) => {
    const [balance, auto] = await Promise.all([
      ledger.balance(account.id),
      ledger.autoTopup(account.id),
    ]);
    const pkg = ledger.catalog.packages.find((p) => p.id === auto.packageId);
    return [
      describeBalance(balance),
      describeAutoTopup(auto, pkg?.name ?? auto.packageId),
      account.note,
    ]
      .filter(Boolean)
      .join(' ');
  };
  const withStory = async (account: DemoAccount, ledger: Ledger) => ({
    id: account.id,
    label: account.label,
    story: await story(account, ledger),
  });
  const accountOf = (id: string) => demoAccounts.find((a) => a.id === id);

  app.get('/demo/api/accounts', async (c) =>
    c.json({ accounts: await Promise.all(demoAccounts.map((a) => withStory(a, main.ledger))) }),
  );
  app.get('/demo/api/accounts/:id', async (c) => {
    const account = accountOf(c.req.param('id'));
    if (!account) throw new HttpError('account_not_found', 'No such demo account.');
    return c.json(await withStory(account, main.ledger));
  });

  // The host backend mints a widget token for the signed-in user's account,
  // with the scope their role allows.
  app.post(
    '/demo/api/session',
    jsonBody(z.strictObject({ accountId: knownAccount, tenant, role })),
    async (c) => {
      const { accountId, tenant, role } = c.req.valid('json');
      const scope = scopeOf[role];
      const { token, expiresAtMs } = await tenants[tenant].tokens.mint(
        accountId,
        tokenTtlSeconds,
        scope,
      );
      return c.json({ token, accountId, expiresAt: new Date(expiresAtMs).toISOString(), scope });
    },
  );

  // The voice platform reports a finished call; here a button stands in for it.
  app.post(
    '/demo/api/calls',
    jsonBody(
      z.strictObject({
        accountId: knownAccount,
        seconds: z
          .int()
          .min(1)
          .max(4 * 3600),
        tenant,
      }),
    ),
    async (c) => {
      const { accountId, seconds, tenant } = c.req.valid('json');
      const callId = `demo-call-${crypto.randomUUID()}`;
      const { ledger } = tenants[tenant];
      const result = await ledger.recordUsage(accountId, callId, seconds);
      return c.json({
        ...result,
        message: describeCall(result.usage),
        story: await story(accountOf(accountId)!, ledger),
      });
    },
  );

  // The operator panel: what a support console's backend does with the secret
  // key (a real one behind its operators' sign-in; the demo's panel is open to
  // any visitor, on the demo accounts only). The account's purchases and
  // grants, listed for the panel…
  app.get('/demo/api/accounts/:id/purchases', async (c) => {
    const account = accountOf(c.req.param('id'));
    if (!account) throw new HttpError('account_not_found', 'No such demo account.');
    const purchases = await main.ledger.listPurchases(account.id);
    return c.json({ purchases: purchases.map(operatorRow) });
  });

  // …free minutes for an account…
  app.post(
    '/demo/api/grants',
    jsonBody(schemas.grant.extend({ accountId: knownAccount })),
    async (c) => {
      const { accountId, minutes, reason } = c.req.valid('json');
      const key = operatorKey(c, 'grant');
      const result = await main.ledger.grant(accountId, minutes, reason, key);
      return c.json(
        {
          ...result,
          message: describeGrant(result),
          story: await story(accountOf(accountId)!, main.ledger),
        },
        201,
      );
    },
  );

  // …the unused share of a package back to the customer…
  app.post(
    '/demo/api/refunds',
    jsonBody(z.strictObject({ accountId: knownAccount, purchaseId: idSchema })),
    async (c) => {
      const { accountId, purchaseId } = c.req.valid('json');
      const key = operatorKey(c, 'refund');
      const result = await main.ledger.refund(accountId, purchaseId, key);
      return c.json({
        ...result,
        message: describeRefund(result),
        story: await story(accountOf(accountId)!, main.ledger),
      });
    },
  );

  // …and the account's ledger to download.
  app.get('/demo/api/accounts/:id/ledger.csv', async (c) => {
    const account = accountOf(c.req.param('id'));
    if (!account) throw new HttpError('account_not_found', 'No such demo account.');
    return csvDownload(
      await main.ledger.exportCsv(account.id),
      `minute-topup-${account.id}-ledger.csv`,
    );
  });

  // The host's webhook endpoint, when the API's webhooks come here: each
  // request verified (its timestamp against the demo's clock, its signature
  // with the standardwebhooks package) before it is kept — a bad one is a 400
  // and leaves nothing; one that verifies is acknowledged, described or not
  // (anything else would have the API send it again for a day); a webhook-id
  // received before is acknowledged again, as delivery is at least once.
  // The demo's rate limit (a count of its own) and the API's body limit.
  if (webhooks) {
    app.post(WEBHOOK_ENDPOINT, limitRate, limitBody, async (c) => {
      const receipt = webhooks.receive(
        await c.req.text(),
        {
          'webhook-id': c.req.header('webhook-id'),
          'webhook-timestamp': c.req.header('webhook-timestamp'),
          'webhook-signature': c.req.header('webhook-signature'),
        },
        clock.now(),
      );
      if ('refused' in receipt) {
        throw new HttpError('invalid_signature', `Webhook refused: ${receipt.refused}.`);
      }
      return c.body(null, 204);
    });
  }

  // …and what it kept, for the page's panel. `receiving: false`: they go to
  // the host's own endpoint. The ETag spares a poll that finds nothing new.
  app.get(WEBHOOK_LIST, (c) => {
    const tag = webhooks?.etag ?? '"webhooks-elsewhere"';
    c.header('ETag', tag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === tag) return c.body(null, 304);
    return c.json({ receiving: webhooks !== undefined, webhooks: webhooks?.list() ?? [] });
  });

  app.get('/', (c) => c.redirect('/demo/billing'));
  app.get('/demo', (c) => c.redirect('/demo/billing'));
  app.get('/demo/billing', serveStatic({ path: './demo/index.html' }));
  app.get('/demo/partner', serveStatic({ path: './demo/partner.html' }));
  app.get(
    '/demo/assets/*',
    serveStatic({
      root: './',
      rewriteRequestPath: (p) => p.replace(/^\/demo\/assets/, '/demo/public'),
    }),
  );
  app.get('/dist/*', serveStatic({ root: './' }));
  // The pages name their icons; this answers browsers that ask by convention.
  app.get('/favicon.ico', serveStatic({ path: './demo/public/favicon.svg' }));
  app.get('/demo/*', () => {
    throw new HttpError('not_found', 'No such demo page.');
  });
  return app;
}
