import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { z } from 'zod';
import type { TokenIssuer } from '../server/http/auth.js';
import { HttpError } from '../server/http/errors.js';
import { jsonBody } from '../server/http/validation.js';
import type { Ledger } from '../server/ledger.js';
import { demoAccounts } from './seed.js';

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
}

const knownAccount = z.enum(demoAccounts.map((a) => a.id) as [string, ...string[]]);
const tenant = z.enum(['main', 'partner']).default('main');

/**
 * The demo dashboard and its small "host backend". The two `/demo/api/*`
 * routes are what a customer's own backend does: it knows who is signed in,
 * and uses the secret key — which never reaches the page — to mint widget
 * tokens and to record calls.
 */
export function demoRoutes({ main, partner, tokenTtlSeconds = 300 }: DemoOptions) {
  const tenants = { main, partner };
  const app = new Hono();

  app.get('/demo/api/accounts', (c) => c.json({ accounts: demoAccounts }));

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
      return c.json(await tenants[tenant].ledger.recordUsage(accountId, callId, seconds));
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
  app.get('/demo/*', () => {
    throw new HttpError('not_found', 'No such demo page.');
  });
  return app;
}
