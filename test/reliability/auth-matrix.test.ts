import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sign } from 'hono/jwt';
import { tokenIssuer } from '../../server/http/auth.js';
import Stripe from 'stripe';
import { StripeGateway } from '../../server/payments/stripe.js';
import { widgetBundleRoutes } from '../../server/routes/widget-bundle.js';
import { startDemoServer } from '../support/demo-server.js';
import { fixture, SECRET, storeFactories, type Fixture } from '../support/api.js';
import { reportReliability } from '../support/reliability-report.js';

/**
 * Every route × every kind of credential answers as the API promises: public
 * routes for anyone, the secret key for everything, a widget token for its own
 * account's read and purchase routes only, and 401 for anything that is not a
 * valid, unexpired credential of ours.
 */

type Credential =
  | 'none'
  | 'malformed'
  | 'expired'
  | 'wrong signature'
  | "another account's token"
  | 'widget token (own account)'
  | 'view token (own account)'
  | 'secret key';

const CREDENTIALS: Credential[] = [
  'none',
  'malformed',
  'expired',
  'wrong signature',
  "another account's token",
  'widget token (own account)',
  'view token (own account)',
  'secret key',
];

/** A view-only token answers as a buying one, unless the route says otherwise (it may not spend). */
type Expectations = Record<Exclude<Credential, 'view token (own account)'>, number> & {
  'view token (own account)'?: number;
};

interface Route {
  name: string;
  method: string;
  /** A function for a path that must differ per request (a purchase to refund). */
  path: string | (() => string);
  body?: () => unknown;
  headers?: () => Record<string, string>;
  /** Expected status per credential. */
  expect: Expectations;
  /** The error code of a refusal that is not about the bearer credential (default: 401 unauthorized, 403 forbidden). */
  refusal?: string;
  /** A stream that stays open: its body is cancelled once the status is known. */
  stream?: boolean;
}

/** The signing secret of the Stripe webhook endpoint the matrix's API is given. */
const WEBHOOK_SECRET = 'whsec_matrix_0123456789abcdef';
const every = (status: number) =>
  Object.fromEntries(CREDENTIALS.map((c) => [c, status])) as Record<Credential, number>;
/** The last webhook `headers()` signed, which `body()` then sends (the loop asks for headers first). */
let signedEvent = '';
function signEvent(): Record<string, string> {
  signedEvent = JSON.stringify({
    id: `evt_matrix_${++keys}`,
    object: 'event',
    type: 'customer.created',
    data: { object: { id: 'cus_matrix', object: 'customer' } },
  });
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: signedEvent,
    secret: WEBHOOK_SECRET,
  });
  return { 'stripe-signature': header };
}

const refusedAll = { none: 401, malformed: 401, expired: 401, 'wrong signature': 401 } as const;
let keys = 0;
/** Purchases of `acme` bought for the refund route, one per request. */
let refundable: string[] = [];

const ROUTES: Route[] = [
  {
    name: 'GET /v1/catalog',
    method: 'GET',
    path: '/v1/catalog',
    expect: every(200),
  },
  {
    name: 'GET /v1/openapi.json',
    method: 'GET',
    path: '/v1/openapi.json',
    expect: every(200),
  },
  {
    name: 'GET /widget/minute-topup.js',
    method: 'GET',
    path: '/widget/minute-topup.js',
    expect: every(200),
  },
  {
    name: 'GET /widget/minute-topup.js.map',
    method: 'GET',
    path: '/widget/minute-topup.js.map',
    expect: every(200),
  },
  {
    name: 'POST /v1/sessions',
    method: 'POST',
    path: '/v1/sessions',
    body: () => ({ accountId: 'acme' }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 201,
    },
  },
  {
    name: 'PUT /v1/accounts/:id',
    method: 'PUT',
    path: '/v1/accounts/acme',
    body: () => ({ planId: 'starter' }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id',
    method: 'GET',
    path: '/v1/accounts/acme',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    // Stripe signs its webhooks: the signature counts, whatever bearer comes along.
    name: 'POST /v1/webhooks/stripe (signed)',
    method: 'POST',
    path: '/v1/webhooks/stripe',
    headers: signEvent,
    body: () => JSON.parse(signedEvent),
    expect: every(200),
  },
  {
    name: 'POST /v1/webhooks/stripe (unsigned)',
    method: 'POST',
    path: '/v1/webhooks/stripe',
    body: () => ({ id: `evt_forged_${++keys}`, type: 'payment_intent.succeeded' }),
    expect: every(400),
    refusal: 'invalid_signature',
  },
  {
    name: 'GET /v1/accounts/:id/balance',
    method: 'GET',
    path: '/v1/accounts/acme/balance',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id/events',
    method: 'GET',
    path: '/v1/accounts/acme/events',
    stream: true,
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id/purchases',
    method: 'GET',
    path: '/v1/accounts/acme/purchases',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'secret key': 200,
    },
  },
  {
    name: 'POST /v1/accounts/:id/purchases',
    method: 'POST',
    path: '/v1/accounts/acme/purchases',
    body: () => ({ packageId: 'small' }),
    headers: () => ({ 'idempotency-key': `matrix-${++keys}` }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 201,
      'view token (own account)': 403,
      'secret key': 201,
    },
  },
  {
    name: 'POST /v1/accounts/:id/grants',
    method: 'POST',
    path: '/v1/accounts/acme/grants',
    body: () => ({ minutes: 1, reason: 'matrix' }),
    headers: () => ({ 'idempotency-key': `matrix-${++keys}` }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 201,
    },
  },
  {
    name: 'POST /v1/accounts/:id/purchases/:purchaseId/refund',
    method: 'POST',
    path: () => `/v1/accounts/acme/purchases/${refundable.pop()}/refund`,
    headers: () => ({ 'idempotency-key': `matrix-${++keys}` }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id/usage',
    method: 'GET',
    path: '/v1/accounts/acme/usage?limit=5',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id/ledger.csv',
    method: 'GET',
    path: '/v1/accounts/acme/ledger.csv',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    name: 'POST /v1/accounts/:id/usage',
    method: 'POST',
    path: '/v1/accounts/acme/usage',
    body: () => ({ callId: `matrix-call-${++keys}`, seconds: 30 }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id/auto-topup',
    method: 'GET',
    path: '/v1/accounts/acme/auto-topup',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'secret key': 200,
    },
  },
  {
    // Auto top-up spends on the customer's card: a view token may not change it.
    name: 'PUT /v1/accounts/:id/auto-topup',
    method: 'PUT',
    path: '/v1/accounts/acme/auto-topup',
    body: () => ({ enabled: false, thresholdMinutes: 30, packageId: 'small', monthlyLimit: 2 }),
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'view token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/webhooks/deliveries',
    method: 'GET',
    path: '/v1/webhooks/deliveries?status=failed',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 403,
      'secret key': 200,
    },
  },
  {
    name: 'GET /v1/accounts/:id/recommendation',
    method: 'GET',
    path: '/v1/accounts/acme/recommendation',
    expect: {
      ...refusedAll,
      "another account's token": 403,
      'widget token (own account)': 200,
      'secret key': 200,
    },
  },
];

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The `Authorization` headers of each kind (several for the kinds that come in several forms). */
async function credentials(f: Fixture): Promise<Record<Credential, (string | null)[]>> {
  const mint = async (accountId: string, ttlSeconds: number, scope?: 'view') => {
    const res = await f.call('POST', '/v1/sessions', {
      body: { accountId, ttlSeconds, ...(scope ? { scope } : {}) },
    });
    assert.equal(res.status, 201);
    return res.body.token as string;
  };
  const expiring = await mint('acme', 60);
  const own = await mint('acme', 3600);
  const theirs = await mint('other', 3600);
  const viewer = await mint('acme', 3600, 'view');
  // Let the 60-second token run out; the others have an hour.
  f.clock.advance(60_000);

  const now = Math.floor(f.clock.now() / 1000);
  const claims = { sub: 'acme', aud: 'minute-topup-widget', iat: now, exp: now + 600 };
  const [head, , sig] = own.split('.');
  return {
    none: [null],
    malformed: [
      '',
      'Bearer',
      'Bearer ',
      `Basic ${Buffer.from(`acme:${SECRET}`).toString('base64')}`,
      SECRET,
      `Bearer  ${SECRET}`,
      `Bearer ${SECRET}x`,
      `Bearer ${SECRET.slice(0, -1)}`,
      `Bearer ${SECRET} ${SECRET}`,
      'Bearer not-a-token',
      'Bearer a.b.c',
      `Bearer ${'x'.repeat(5000)}`,
    ],
    expired: [
      `Bearer ${expiring}`,
      // Signed with the right key, but long past its expiry.
      `Bearer ${(await tokenIssuer(SECRET, { now: () => f.clock.now() - 86_400_000 }).mint('acme', 900)).token}`,
    ],
    'wrong signature': [
      `Bearer ${(await tokenIssuer('sk_test_another_key_0123456789abcdef', f.clock).mint('acme', 900)).token}`,
      // The secret key itself used as the signing key (ours derives another).
      `Bearer ${await sign(claims, SECRET, 'HS256')}`,
      // Right claims, no signature at all.
      `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`,
      // A real token's signature on a payload for another account.
      `Bearer ${head}.${b64url({ ...claims, sub: 'other' })}.${sig}`,
      // Another audience, correctly signed.
      `Bearer ${await sign({ ...claims, aud: 'someone-else' }, `minute-topup-widget-token:${SECRET}`, 'HS256')}`,
    ],
    "another account's token": [`Bearer ${theirs}`],
    'widget token (own account)': [`Bearer ${own}`],
    'view token (own account)': [`Bearer ${viewer}`],
    'secret key': [`Bearer ${SECRET}`],
  };
}

const matrix = { cells: 0, requests: 0, failures: [] as string[] };

const bundleDirs: string[] = [];
after(() => bundleDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A stand-in for `dist/`: the bundle routes serve whatever is there. */
function bundleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-matrix-'));
  bundleDirs.push(dir);
  writeFileSync(
    join(dir, 'minute-topup.js'),
    'export {};\n//# sourceMappingURL=minute-topup.js.map\n',
  );
  writeFileSync(join(dir, 'minute-topup.js.map'), '{"version":3,"sources":[],"mappings":""}');
  return dir;
}

for (const factory of storeFactories) {
  describe(`every route × every credential (${factory.name} store)`, () => {
    it('answers as designed, and a refused request changes nothing', async () => {
      const f = await fixture(
        await factory.open(),
        {},
        {
          widgetBundle: widgetBundleRoutes(bundleDir()),
          stripeWebhooks: new StripeGateway({
            secretKey: 'sk_test_matrix',
            webhookSecret: WEBHOOK_SECRET,
          }),
        },
      );
      for (const id of ['acme', 'other']) {
        assert.ok(
          (await f.call('PUT', `/v1/accounts/${id}`, { body: { planId: 'starter' } })).status < 300,
        );
      }
      const creds = await credentials(f);
      refundable = [];
      for (let i = 0; i < 2 * CREDENTIALS.length + 12; i += 1) {
        const bought = await f.call('POST', '/v1/accounts/acme/purchases', {
          body: { packageId: 'small' },
          headers: { 'idempotency-key': `matrix-refundable-${i}` },
        });
        assert.equal(bought.status, 201);
        refundable.push(bought.body.purchase.id);
      }
      for (const route of ROUTES) {
        for (const credential of CREDENTIALS) {
          matrix.cells += 1;
          for (const authorization of creds[credential]) {
            const before = await f.store.audit();
            const charges = f.gateway.chargeCount;
            const headers: Record<string, string> = { ...route.headers?.() };
            if (authorization !== null) headers.authorization = authorization;
            const body = route.body?.();
            if (body !== undefined) headers['content-type'] = 'application/json';
            const path = typeof route.path === 'function' ? route.path() : route.path;
            const res = await f.app.request(path, {
              method: route.method,
              headers,
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            if (route.stream && res.ok) {
              assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
              await res.body?.cancel();
            }
            const text = route.stream && res.ok ? '' : await res.text();
            const json = (
              res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}
            ) as {
              error?: { code: string; message: string };
            };
            matrix.requests += 1;
            const expected = route.expect[credential] ?? route.expect['widget token (own account)'];
            const label = `${route.name} × ${credential} (${String(authorization).slice(0, 40)}…)`;
            if (res.status !== expected)
              matrix.failures.push(`${label}: ${res.status} ≠ ${expected}`);
            assert.equal(res.status, expected, `${label}: ${JSON.stringify(json)}`);
            if (expected >= 400) {
              assert.equal(
                json.error?.code,
                route.refusal ?? (expected === 401 ? 'unauthorized' : 'forbidden'),
                label,
              );
              if (expected === 401 && !route.refusal)
                assert.equal(res.headers.get('www-authenticate'), 'Bearer', label);
              assert.deepEqual(await f.store.audit(), before, `${label} changed the ledger`);
              assert.equal(f.gateway.chargeCount, charges, `${label} charged`);
            }
          }
        }
      }
      assert.deepEqual(f.unexpected, []);
      assert.equal(f.app.live.size, 0, 'every stream the matrix opened was closed with its body');
      await f.store.close();
    });
  });
}

describe('widget tokens', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture(await storeFactories[0].open());
    await f.call('PUT', '/v1/accounts/acme', { body: { planId: 'starter' } });
  });
  after(() => f.store.close());

  it('carry only the account, the audience, the scope and the times, signed HS256, and not the key', async () => {
    const res = await f.call('POST', '/v1/sessions', {
      body: { accountId: 'acme', ttlSeconds: 300 },
    });
    const [head, payload] = res.body.token.split('.');
    const header = JSON.parse(Buffer.from(head, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'scope', 'sub']);
    assert.equal(claims.sub, 'acme');
    assert.equal(claims.scope, 'buy');
    assert.equal(claims.aud, 'minute-topup-widget');
    assert.equal(claims.iat, Math.floor(f.clock.now() / 1000));
    assert.equal(claims.exp - claims.iat, 300);
    assert.ok(!res.body.token.includes(SECRET));
    assert.ok(!Buffer.from(payload, 'base64url').toString().includes(SECRET));
  });

  it('stop working the second they expire', async () => {
    const { token } = (
      await f.call('POST', '/v1/sessions', { body: { accountId: 'acme', ttlSeconds: 60 } })
    ).body;
    f.clock.advance(59_999);
    assert.equal((await f.call('GET', '/v1/accounts/acme/balance', { auth: token })).status, 200);
    f.clock.advance(1);
    const res = await f.call('GET', '/v1/accounts/acme/balance', { auth: token });
    assert.equal(res.status, 401);
    assert.match(res.body.error.message, /expired/);
  });
});

describe('the demo, as a browser sees it', () => {
  const KEY = 'sk_live_matrix_3c9f1e7a52b84d06b1e2f9a7c4d85e31';
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  const fetched: string[] = [];
  let leaks = 0;

  before(async () => {
    demo = await startDemoServer({ MINUTE_TOPUP_SECRET_KEY: KEY });
  });
  after(async () => {
    await demo?.stop();
    const rows = ROUTES.length * CREDENTIALS.length;
    reportReliability({
      tried: `Auth matrix: every route × no/malformed/expired/forged credentials, another account’s token, a widget token, a view-only token, the secret key (${storeFactories.map((f) => f.name).join(' + ')}); the demo’s pages, assets and API answers searched for the secret key`,
      figures: `${ROUTES.length} routes × ${CREDENTIALS.length} credentials = ${rows} cells per store, ${matrix.requests} requests, ${matrix.failures.length} failures; ${fetched.length} demo responses, ${leaks} with the key`,
      check:
        'each answer as designed (401/403/2xx; a view token spends nothing), a refused request changes nothing, tokens carry only sub/aud/scope/iat/exp, the secret key in no demo response',
      held:
        matrix.failures.length === 0 &&
        matrix.cells === rows * storeFactories.length &&
        leaks === 0 &&
        fetched.length > 0,
    });
  });

  it('never sends the secret key to the page', async () => {
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(demo.base + path, init);
      const text = await res.text();
      assert.equal(res.status, 200, `${path}: ${text.slice(0, 200)}`);
      const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      fetched.push(path);
      if (text.includes(KEY) || headers.includes(KEY)) leaks += 1;
      assert.ok(!text.includes(KEY), `${path} contains the secret key`);
      assert.ok(!headers.includes(KEY), `${path}'s headers contain the secret key`);
      return text;
    };
    const pages = ['/demo/billing', '/demo/partner'];
    const assets = new Set([
      '/demo/assets/dashboard.js',
      '/demo/assets/operator.js',
      '/demo/assets/backend.js',
      '/demo/assets/webhooks.js',
      '/demo/assets/partner.js',
      '/demo/assets/dashboard.css',
      '/demo/assets/partner.css',
      '/dist/minute-topup.js',
      '/widget/minute-topup.js',
      '/widget/minute-topup.js.map',
    ]);
    for (const page of pages) {
      const html = await get(page);
      // Whatever else the pages load.
      for (const [, ref] of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) assets.add(ref);
    }
    for (const asset of assets) await get(asset);
    // The webhooks the demo received (its own endpoint): what they tell, never the key.
    await get('/demo/api/webhooks');
    const accounts = JSON.parse(await get('/demo/api/accounts')).accounts as { id: string }[];
    assert.ok(accounts.length > 0);
    for (const tenant of ['main', 'partner']) {
      for (const { id } of accounts) {
        const text = await get('/demo/api/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ accountId: id, tenant }),
        });
        const { token } = JSON.parse(text) as { token: string };
        assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
        assert.notEqual(token, KEY);
        const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
        assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'scope', 'sub']);
      }
    }
    assert.equal(leaks, 0);
  });
});
