import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { APP_DEFAULTS } from '../server/app.js';
import type { TokenIssuer } from '../server/http/auth.js';
import { readBody } from '../server/http/body.js';
import { HttpError } from '../server/http/errors.js';
import { rateLimit } from '../server/http/rate-limit.js';
import { jsonBody } from '../server/http/validation.js';
import { systemClock, type Clock } from '../server/clock.js';
import type { Ledger } from '../server/ledger/ledger.js';
import { demoAccounts, type DemoAccount } from './seed.js';
import { describeBalance, describeCall } from './story.js';

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
  /** Largest body a `/demo/api/*` route reads (the API's 16 KiB by default). */
  maxBodyBytes?: number;
  /**
   * Requests to `/demo/api/*` one client (remote address) may make per minute
   * (120 by default; `0` or `Infinity`: no limit).
   */
  requestsPerMinute?: number;
  clock?: Clock;
}

/** The demo's defaults: the API's body limit, and two requests a second per client. */
export const DEMO_LIMITS = {
  maxBodyBytes: APP_DEFAULTS.maxBodyBytes,
  requestsPerMinute: 120,
} as const;

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
 * The demo dashboard and its small "host backend". The `/demo/api/*` routes
 * are what a customer's own backend does: it knows who is signed in, and uses
 * the secret key — which never reaches the page — to mint widget tokens and to
 * record calls. Like the API, they read at most 16 KiB of a body and answer a
 * client that asks too often with 429 and `Retry-After`.
 */
export function demoRoutes({
  main,
  partner,
  tokenTtlSeconds = 300,
  maxBodyBytes = DEMO_LIMITS.maxBodyBytes,
  requestsPerMinute = DEMO_LIMITS.requestsPerMinute,
  clock = systemClock,
}: DemoOptions) {
  const tenants = { main, partner };
  const app = new Hono();

  // Cheap refusals first: too many requests, then a body too large (refused
  // as soon as it passes the limit, whether announced or chunked).
  app.use(
    '/demo/api/*',
    rateLimit({
      limit: requestsPerMinute,
      clock,
      keyOf: clientOf,
      message: 'Too many demo requests from this address.',
    }),
    // As the API: a client that aborts mid-body is a 400, not an unexpected error.
    readBody({ maxBytes: maxBodyBytes }),
  );

  // The account's description: a sentence from its live balance, then its note.
  const story = async (account: DemoAccount, ledger: Ledger) =>
    [describeBalance(await ledger.balance(account.id)), account.note].filter(Boolean).join(' ');
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

  // The host backend mints a widget token for the signed-in user's account.
  app.post(
    '/demo/api/session',
    jsonBody(z.strictObject({ accountId: knownAccount, tenant })),
    async (c) => {
      const { accountId, tenant } = c.req.valid('json');
      const { token, expiresAtMs } = await tenants[tenant].tokens.mint(accountId, tokenTtlSeconds);
      return c.json({ token, accountId, expiresAt: new Date(expiresAtMs).toISOString() });
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
