import fc from 'fast-check';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { z } from 'zod';
import { schemas } from '../../server/http/validation.js';
import { fixture, storeFactories, SECRET, type Fixture } from '../support/api.js';
import {
  cleanUpTargets,
  freePort,
  sqliteTarget,
  startReadyApi,
  stopAllApiProcesses,
  terminateApi,
} from '../support/api-process.js';
import { API_SECRET, callApi } from '../support/http.js';
import { reportReliability } from '../support/reliability-report.js';

/**
 * Generated bad requests against every route: wrong types, missing and extra
 * fields, huge, negative and fractional numbers, long and unicode strings,
 * malformed JSON, oversized bodies, wrong content types, odd path segments,
 * query strings and headers. Each must be answered with a 4xx in the error
 * shape, never a 5xx, and leave the ledger as it was. GET requests that are
 * only decorated (a query string, an odd header) must answer exactly as the
 * plain request does.
 */

const RUNS_PER_PROPERTY = 220;
const SEED = Number(process.env.FUZZ_SEED ?? 0x6d_74_75);

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** When the fixture (its manual clock) creates the accounts. */
const CREATED = Date.parse('2026-03-10T12:00:00Z');
const ACCOUNTS = ['acme', 'other'];
const PACKAGES = ['small', 'medium', 'large'];
const PLANS = ['starter', 'growth', 'scale'];

type Auth = 'secret' | 'widget';
interface BadRequest {
  method: string;
  path: string;
  auth: Auth;
  headers: Record<string, string>;
  body?: string | Blob | BrokenBody;
}

/** A body whose stream errors (a client aborting, a reset connection) after `after` bytes. */
interface BrokenBody {
  text: string;
  after: number;
}

function brokenStream({ text, after }: BrokenBody): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text).slice(0, after);
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent || bytes.length === 0) {
        controller.error(new Error('the client went away mid-body'));
      } else {
        sent = true;
        controller.enqueue(bytes);
      }
    },
  });
}

// ---------------------------------------------------------------- strings

/** What a client sending UTF-8 bytes in a header looks like to the server. */
const asHeaderValue = (s: string) =>
  Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[\0\r\n]/g, '?');

/** Percent-encodes every byte but the unreserved ones (lone surrogates become U+FFFD). */
const encodeSegment = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

const oddStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  'é',
  '💥',
  'a b',
  ' acme',
  'acme\n',
  '../acme',
  'a/b',
  '%2F',
  '\u202Eemca',
  'ｱｶｳﾝﾄ',
  '<script>alert(1)</script>',
  "'; DROP TABLE purchases; --",
  '${jndi:ldap://x}',
  '__proto__',
);

/** A string that is not a valid id (1–128 of `A-Za-z0-9._:-`). */
const badIdString = fc
  .oneof(
    oddStrings,
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.stringMatching(/^[A-Za-z0-9]{129,400}$/),
    fc.string({ unit: 'binary-ascii', minLength: 129, maxLength: 2000 }),
  )
  .filter((s) => !ID.test(s));

/** A well-formed id nobody has used. */
const unknownId = fc
  .stringMatching(/^[A-Za-z0-9._:-]{1,40}$/)
  .filter((s) => !ACCOUNTS.includes(s) && !/^\.{1,2}$/.test(s));

const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

const notAnInt = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(0.5, 1.5, -0.1, 1e-9, 1e20, -1e20, 1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.array(fc.integer(), { maxLength: 2 }),
);

const outside = (min: number, max: number) =>
  fc.oneof(
    fc.integer({ max: min - 1 }),
    fc.integer({ min: max + 1 }),
    fc.constantFrom(min - 1, max + 1, -1, -(2 ** 31), 2 ** 31, 2 ** 53),
  );

const badInstant = fc.oneof(
  fc.constantFrom(
    'yesterday',
    '2026-13-45T00:00:00Z',
    '2026-02-30',
    '2026-03-10 12:00:00',
    '2026-03-10T25:00:00Z',
    '+275760-09-13T00:00:00Z',
    '0',
    '',
  ),
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.constant(null),
);

// ---------------------------------------------------------------- bodies

type FieldSpec = { name: string; bad: fc.Arbitrary<unknown> };
type BodySpec = { schema: z.ZodType; valid: Record<string, unknown>; fields: FieldSpec[] };

const bodies = {
  session: {
    schema: schemas.session,
    valid: { accountId: 'acme', ttlSeconds: 600 },
    fields: [
      { name: 'accountId', bad: fc.oneof(badIdString, notAString) },
      { name: 'ttlSeconds', bad: fc.oneof(outside(60, 86_400), notAnInt) },
    ],
  },
  account: {
    schema: schemas.account,
    valid: { planId: 'growth', cycleAnchor: '2026-01-31T00:00:00Z' },
    fields: [
      { name: 'planId', bad: fc.oneof(badIdString, notAString) },
      { name: 'cycleAnchor', bad: badInstant },
    ],
  },
  purchase: {
    schema: schemas.purchase,
    valid: { packageId: 'small' },
    fields: [{ name: 'packageId', bad: fc.oneof(badIdString, notAString) }],
  },
  usage: {
    schema: schemas.usage,
    valid: { callId: 'fuzz-call', seconds: 60, occurredAt: '2026-03-10T11:00:00Z' },
    fields: [
      { name: 'callId', bad: fc.oneof(badIdString, notAString) },
      { name: 'seconds', bad: fc.oneof(outside(0, 7 * 86_400), notAnInt) },
      { name: 'occurredAt', bad: badInstant },
    ],
  },
  autoTopup: {
    schema: schemas.autoTopup,
    valid: { enabled: true, thresholdMinutes: 30, packageId: 'medium', monthlyLimit: 3 },
    fields: [
      { name: 'enabled', bad: fc.oneof(fc.constantFrom('true', 1, 0, null, 'on')) },
      { name: 'thresholdMinutes', bad: fc.oneof(outside(1, 100_000), notAnInt) },
      { name: 'packageId', bad: fc.oneof(badIdString, notAString) },
      { name: 'monthlyLimit', bad: fc.oneof(outside(1, 31), notAnInt) },
    ],
  },
} satisfies Record<string, BodySpec>;

/** A body that breaks `spec`'s schema: wrong types, out of range, missing or extra fields. */
function badBodyValue(spec: BodySpec): fc.Arbitrary<unknown> {
  const mutation = fc.oneof(
    ...spec.fields.map((f) =>
      f.bad.map((v) => (o: Record<string, unknown>) => ({ ...o, [f.name]: v })),
    ),
    fc
      .constantFrom(...spec.fields.map((f) => f.name))
      .map((name) => (o: Record<string, unknown>) => {
        const { [name]: _gone, ...rest } = o;
        return rest;
      }),
    fc
      .tuple(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'amount', 'accountId'),
        ),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([k, v]) => (o: Record<string, unknown>) => {
        const copy = { ...o };
        Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true });
        return copy;
      }),
  );
  const mutated = fc
    .array(mutation, { minLength: 1, maxLength: 3 })
    .map((ms) => ms.reduce((o, m) => m(o), spec.valid as Record<string, unknown>));
  const notAnObject = fc.oneof(
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
    fc.string({ maxLength: 20 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  return fc
    .oneof({ arbitrary: mutated, weight: 4 }, { arbitrary: notAnObject, weight: 1 })
    .filter((v) => !spec.schema.safeParse(v).success);
}

/** Text that is not JSON: a valid body cut short or garbled, or plain junk. */
function malformedJson(spec: BodySpec): fc.Arbitrary<string> {
  const text = JSON.stringify(spec.valid);
  return fc
    .oneof(
      fc.integer({ min: 0, max: text.length - 1 }).map((n) => text.slice(0, n)),
      fc
        .tuple(fc.integer({ min: 0, max: text.length }), fc.string({ minLength: 1, maxLength: 4 }))
        .map(([n, junk]) => text.slice(0, n) + junk + text.slice(n)),
      fc.constantFrom(
        "{'accountId': 'acme'}",
        '{"seconds": NaN}',
        '{"seconds": Infinity}',
        '{"packageId": "small",}',
        '{"a":1}{"b":2}',
        'undefined',
        '\u0000',
        '{"callId": "\uD800", "seconds": 1',
      ),
      fc.integer({ min: 1, max: 8000 }).map((n) => '['.repeat(n) + ']'.repeat(n - 1)),
      fc.string({ unit: 'binary', maxLength: 60 }),
    )
    .filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    });
}

/** A body larger than the 16 KiB limit, JSON or not. */
const oversized = fc.oneof(
  fc
    .integer({ min: 16 * 1024 + 1, max: 80_000 })
    .map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
  fc.integer({ min: 16 * 1024 + 1, max: 80_000 }).map((n) => 'é'.repeat(Math.ceil(n / 2))),
  fc
    .integer({ min: 6000, max: 20_000 })
    .map((n) => JSON.stringify(Array.from({ length: n }, (_, i) => i))),
);

const wrongContentType = fc.constantFrom(
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonx',
  'json',
  'application/json+text',
  '*/*',
  'application/octet-stream',
);

const jsonHeaders = { 'content-type': 'application/json' };

/** Every way a body can be bad for `spec`, with the headers it is sent with. */
function badBody(
  spec: BodySpec,
): fc.Arbitrary<{ body: string | Blob; headers: Record<string, string> }> {
  return fc.oneof(
    {
      arbitrary: badBodyValue(spec).map((v) => ({ body: JSON.stringify(v), headers: jsonHeaders })),
      weight: 5,
    },
    { arbitrary: malformedJson(spec).map((body) => ({ body, headers: jsonHeaders })), weight: 2 },
    { arbitrary: oversized.map((body) => ({ body, headers: jsonHeaders })), weight: 1 },
    {
      arbitrary: wrongContentType.map((t) => ({
        body: JSON.stringify(spec.valid),
        headers: { 'content-type': t },
      })),
      weight: 1,
    },
    // No content type at all.
    {
      arbitrary: fc.constant({
        body: new Blob([JSON.stringify(spec.valid)]),
        headers: {},
      }),
      weight: 1,
    },
  );
}

// ---------------------------------------------------------------- paths, queries, headers

/** An `:id` segment that names no account: malformed, encoded oddly, or unknown. */
const oddSegment = fc.oneof(
  badIdString.map(encodeSegment),
  unknownId.map(encodeSegment),
  fc.constantFrom(
    '%',
    '%zz',
    '%ED%A0%80',
    '%C0%AF',
    '%00',
    '%2F',
    'acme%2Fbalance',
    '%2e%2e',
    '.',
    '..',
    '...',
    'ACME',
    'acme%20',
    '%61cme%00',
  ),
  fc.integer({ min: 129, max: 6000 }).map((n) => 'a'.repeat(n)),
);

const query = fc.oneof(
  fc.constant(''),
  fc
    .string({ unit: 'binary', maxLength: 60 })
    .map((s) => `?${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?'))}`),
  fc
    .dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }), {
      maxKeys: 4,
    })
    .map((d) => `?${new URLSearchParams(d).toString()}`),
  fc.constantFrom(
    '?',
    '?&&',
    '?accountId=other',
    '?id=other&id=acme',
    '?a[b]=c',
    '?%',
    '?x=%zz',
    `?q=${'x'.repeat(5000)}`,
  ),
);

const oddIdempotencyKey = fc
  .oneof(
    fc.constantFrom('', ' ', '   ', 'a b', ' key', 'ключ', '鍵', '💥', '\u00e9', '\t'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    fc.integer({ min: 256, max: 4000 }).map((n) => 'k'.repeat(n)),
  )
  .map(asHeaderValue)
  .filter((s) => !/^[\x21-\x7e]{1,255}$/.test(s.trim()));

const oddHeaders = fc.record(
  {
    'idempotency-key': oddIdempotencyKey,
    accept: fc.constantFrom('text/html', '*/*', 'application/xml', ''),
    origin: fc.constantFrom('https://evil.example', 'null', 'https://host.example'),
    'x-forwarded-for': fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', ''),
    'accept-language': fc.string({ maxLength: 20 }).map(asHeaderValue),
  },
  { requiredKeys: [] },
);

const auth = fc.constantFrom<Auth>('secret', 'secret', 'widget');
const validKey = fc.stringMatching(/^[A-Za-z0-9-]{8,40}$/).map((k) => `fuzz-${k}`);

// ---------------------------------------------------------------- requests that must be refused

const refused: Record<string, fc.Arbitrary<BadRequest>> = {
  'POST /v1/sessions': fc.oneof(
    fc.record({ b: badBody(bodies.session), auth, q: query }).map(({ b, auth, q }) => ({
      method: 'POST',
      path: `/v1/sessions${q}`,
      auth,
      headers: b.headers,
      body: b.body,
    })),
    // Well formed, but for an account nobody created.
    fc.record({ id: unknownId, auth, q: query }).map(({ id, auth, q }) => ({
      method: 'POST',
      path: `/v1/sessions${q}`,
      auth,
      headers: jsonHeaders,
      body: JSON.stringify({ accountId: id }),
    })),
  ),
  'PUT /v1/accounts/:id': fc.oneof(
    fc
      .record({
        seg: fc.oneof(fc.constantFrom('acme', 'other'), oddSegment),
        b: badBody(bodies.account),
        auth,
        q: query,
      })
      .map(({ seg, b, auth, q }) => ({
        method: 'PUT',
        path: `/v1/accounts/${seg}${q}`,
        auth,
        headers: b.headers,
        body: b.body,
      })),
    // An unknown plan.
    fc
      .record({ plan: unknownId.filter((p) => !PLANS.includes(p)), auth })
      .map(({ plan, auth }) => ({
        method: 'PUT',
        path: '/v1/accounts/acme',
        auth,
        headers: jsonHeaders,
        body: JSON.stringify({ planId: plan }),
      })),
  ),
  'POST /v1/accounts/:id/purchases': fc.oneof(
    fc
      .record({ b: badBody(bodies.purchase), key: validKey, auth, q: query })
      .map(({ b, key, auth, q }) => ({
        method: 'POST',
        path: `/v1/accounts/acme/purchases${q}`,
        auth,
        headers: { ...b.headers, 'idempotency-key': key },
        body: b.body,
      })),
    // A good body with a missing or malformed Idempotency-Key.
    fc
      .record({ key: fc.option(oddIdempotencyKey, { nil: undefined }), auth })
      .map(({ key, auth }) => ({
        method: 'POST',
        path: '/v1/accounts/acme/purchases',
        auth,
        headers: key === undefined ? jsonHeaders : { ...jsonHeaders, 'idempotency-key': key },
        body: JSON.stringify({ packageId: 'small' }),
      })),
    // A good body and key for an odd or unknown account.
    fc.record({ seg: oddSegment, key: validKey, auth }).map(({ seg, key, auth }) => ({
      method: 'POST',
      path: `/v1/accounts/${seg}/purchases`,
      auth,
      headers: { ...jsonHeaders, 'idempotency-key': key },
      body: JSON.stringify({ packageId: 'small' }),
    })),
    // An unknown package.
    fc
      .record({ pkg: unknownId.filter((p) => !PACKAGES.includes(p)), key: validKey, auth })
      .map(({ pkg, key, auth }) => ({
        method: 'POST',
        path: '/v1/accounts/acme/purchases',
        auth,
        headers: { ...jsonHeaders, 'idempotency-key': key },
        body: JSON.stringify({ packageId: pkg }),
      })),
  ),
  'POST /v1/accounts/:id/usage': fc.oneof(
    fc.record({ b: badBody(bodies.usage), auth, q: query }).map(({ b, auth, q }) => ({
      method: 'POST',
      path: `/v1/accounts/acme/usage${q}`,
      auth,
      headers: b.headers,
      body: b.body,
    })),
    fc.record({ seg: oddSegment, auth }).map(({ seg, auth }) => ({
      method: 'POST',
      path: `/v1/accounts/${seg}/usage`,
      auth,
      headers: jsonHeaders,
      body: JSON.stringify({ callId: 'fuzz-call', seconds: 60 }),
    })),
    // Usage dated before the account existed (the fixture's clock made it at CREATED).
    fc.integer({ min: 1, max: Math.floor((CREATED - Date.UTC(2000, 0, 1)) / 1000) }).map((s) => ({
      method: 'POST',
      path: '/v1/accounts/acme/usage',
      auth: 'secret' as const,
      headers: jsonHeaders,
      body: JSON.stringify({
        callId: 'fuzz-early',
        seconds: 60,
        occurredAt: new Date(CREATED - s * 1000).toISOString(),
      }),
    })),
    // Usage that has not happened yet (beyond the 5-minute skew allowed).
    fc.integer({ min: 6 * 60, max: 10 * 365 * 86_400 }).map((ahead) => ({
      method: 'POST',
      path: '/v1/accounts/acme/usage',
      auth: 'secret' as const,
      headers: jsonHeaders,
      body: JSON.stringify({
        callId: 'fuzz-future',
        seconds: 1,
        occurredAt: new Date(Date.parse('2026-03-10T12:00:00Z') + ahead * 1000).toISOString(),
      }),
    })),
  ),
  'PUT /v1/accounts/:id/auto-topup': fc.oneof(
    fc.record({ b: badBody(bodies.autoTopup), auth, q: query }).map(({ b, auth, q }) => ({
      method: 'PUT',
      path: `/v1/accounts/acme/auto-topup${q}`,
      auth,
      headers: b.headers,
      body: b.body,
    })),
    // A good body for an odd or unknown account.
    fc.record({ seg: oddSegment, auth }).map(({ seg, auth }) => ({
      method: 'PUT',
      path: `/v1/accounts/${seg}/auto-topup`,
      auth,
      headers: jsonHeaders,
      body: JSON.stringify(bodies.autoTopup.valid),
    })),
    // An unknown package.
    fc
      .record({ pkg: unknownId.filter((p) => !PACKAGES.includes(p)), auth })
      .map(({ pkg, auth }) => ({
        method: 'PUT',
        path: '/v1/accounts/acme/auto-topup',
        auth,
        headers: jsonHeaders,
        body: JSON.stringify({ ...bodies.autoTopup.valid, packageId: pkg }),
      })),
  ),
  // A body that would be accepted, whose stream breaks off (even after its last byte).
  'bodies that break off mid-way': fc
    .record({
      target: fc.constantFrom(
        ['PUT', '/v1/accounts/acme', { planId: 'growth' }],
        ['POST', '/v1/sessions', { accountId: 'acme' }],
        ['POST', '/v1/accounts/acme/purchases', { packageId: 'small' }],
        ['POST', '/v1/accounts/acme/usage', { callId: 'fuzz-broken', seconds: 60 }],
      ),
      cut: fc.double({ min: 0, max: 1, noNaN: true }),
      key: validKey,
    })
    .map(({ target: [method, path, valid], cut, key }) => {
      const text = JSON.stringify(valid);
      return {
        method: method as string,
        path: path as string,
        auth: 'secret' as const,
        headers: { ...jsonHeaders, 'idempotency-key': key },
        body: { text, after: Math.round(cut * text.length) },
      };
    }),
  'GET /v1/accounts/:id/{balance,purchases,recommendation}': fc
    .record({
      seg: oddSegment,
      what: fc.constantFrom('balance', 'purchases', 'recommendation'),
      auth,
      q: query,
      h: oddHeaders,
    })
    .map(({ seg, what, auth, q, h }) => ({
      method: 'GET',
      path: `/v1/accounts/${seg}/${what}${q}`,
      auth,
      headers: h,
    })),
  'unknown routes, methods and odd paths': fc
    .record({
      target: fc.constantFrom(
        ['DELETE', '/v1/catalog'],
        ['POST', '/v1/catalog'],
        ['PATCH', '/v1/accounts/acme'],
        ['DELETE', '/v1/accounts/acme'],
        ['POST', '/v1/accounts/acme/events'],
        ['DELETE', '/v1/accounts/acme/purchases'],
        ['PUT', '/v1/accounts/acme/usage'],
        ['GET', '/v1/accounts/acme/grants'],
        ['DELETE', '/v1/accounts/acme/ledger.csv'],
        ['GET', '/v1/accounts/acme/purchases/p1/refund'],
        ['POST', '/v1/accounts/acme/auto-topup'],
        ['DELETE', '/v1/accounts/acme/auto-topup'],
        ['POST', '/v1/webhooks/deliveries'],
        ['GET', '/v1/webhooks'],
        ['GET', '/v1/sessions'],
        ['POST', '/v1/openapi.json'],
        ['GET', '/v1/catalog/'],
        ['GET', '//v1/catalog'],
        ['GET', '/v1//catalog'],
        ['GET', '/v1/accounts//balance'],
        ['GET', '/v1/accounts/acme/balance/extra'],
        ['GET', '/v1/accounts/acme/balance%2F'],
        ['GET', '/v1/%2e%2e/v1/catalog.json'],
        ['GET', '/V1/CATALOG'],
        ['GET', '/v2/catalog'],
        ['POST', '/v1/accounts/acme/purchases/1'],
        ['GET', '/v1/accounts/%E2%80%AE/balance'],
      ),
      auth,
      q: query,
      h: oddHeaders,
    })
    .map(({ target: [method, path], auth, q, h }) => ({
      method,
      path: path + q,
      auth,
      headers: h,
    })),
};

// ---------------------------------------------------------------- requests that must answer as usual

const readRoutes = [
  '/v1/catalog',
  '/v1/openapi.json',
  '/v1/accounts/acme/balance',
  '/v1/accounts/acme/purchases',
  '/v1/accounts/acme/recommendation',
  '/v1/accounts/acme/auto-topup',
];
const decoratedRead = fc
  .record({ path: fc.constantFrom(...readRoutes), auth, q: query, h: oddHeaders })
  .map(({ path, auth, q, h }) => ({
    base: path,
    request: { method: 'GET', path: path + q, auth, headers: h },
  }));

// ---------------------------------------------------------------- running them

const totals = {
  requests: 0,
  refused: 0,
  decorated: 0,
  failures: [] as string[],
  byStatus: new Map<number, number>(),
};

async function send(f: Fixture, token: string, r: BadRequest) {
  const headers: Record<string, string> = {
    ...r.headers,
    authorization: `Bearer ${r.auth === 'secret' ? SECRET : token}`,
  };
  const sent =
    typeof r.body === 'string' || r.body instanceof Blob || r.body === undefined
      ? r.body
      : brokenStream(r.body);
  const res = await f.app.request(r.path, {
    method: r.method,
    headers,
    body: sent,
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  totals.requests += 1;
  totals.byStatus.set(res.status, (totals.byStatus.get(res.status) ?? 0) + 1);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

const describeRequest = (r: BadRequest) =>
  `${r.method} ${r.path.slice(0, 120)} (${r.auth}) ${JSON.stringify(r.headers).slice(0, 120)} ${describeBody(r.body).slice(0, 120)}`;

const describeBody = (body: BadRequest['body']) =>
  body instanceof Blob
    ? '<bytes>'
    : typeof body === 'object'
      ? `${body.text.slice(0, body.after)}<the stream breaks off>`
      : String(body);

for (const factory of storeFactories) {
  describe(`generated bad requests against every route (${factory.name} store)`, () => {
    it('answers each with a 4xx in the error shape, never a 5xx, and leaves the ledger unchanged', async () => {
      const f = await fixture(await factory.open());
      const ok = async (
        method: string,
        path: string,
        body?: unknown,
        headers?: Record<string, string>,
      ) => {
        const res = await f.call(method, path, { body, headers });
        assert.ok(res.status < 300, `${method} ${path}: ${JSON.stringify(res.body)}`);
        return res.body;
      };
      await ok('PUT', '/v1/accounts/acme', { planId: 'starter' });
      await ok('PUT', '/v1/accounts/other', { planId: 'growth' });
      await ok(
        'POST',
        '/v1/accounts/acme/purchases',
        { packageId: 'small' },
        { 'idempotency-key': 'seed' },
      );
      await ok('POST', '/v1/accounts/acme/usage', { callId: 'seed-call', seconds: 100 });
      const token: string = (await ok('POST', '/v1/sessions', { accountId: 'acme' })).token;

      const auditBefore = await f.store.audit();
      const balances = async () =>
        Promise.all(
          ACCOUNTS.map(async (id) => (await f.call('GET', `/v1/accounts/${id}/balance`)).body),
        );
      const balancesBefore = await balances();
      const charges = f.gateway.chargeCount;
      const baseline = new Map<string, unknown>();
      for (const path of readRoutes) baseline.set(path, (await f.call('GET', path)).body);

      const unchanged = async (what: string) => {
        assert.deepEqual(await f.store.audit(), auditBefore, `ledger changed by ${what}`);
        assert.equal(f.gateway.chargeCount, charges, `a charge by ${what}`);
      };

      for (const [route, arbitrary] of Object.entries(refused)) {
        await fc
          .assert(
            fc.asyncProperty(arbitrary, async (r) => {
              const res = await send(f, token, r);
              totals.refused += 1;
              const what = describeRequest(r);
              if (!(res.status >= 400 && res.status < 500))
                totals.failures.push(`${res.status} ← ${what}`);
              assert.ok(
                res.status >= 400 && res.status < 500,
                `${res.status} ${JSON.stringify(res.body).slice(0, 200)} ← ${what}`,
              );
              const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
              assert.equal(typeof error?.code, 'string', `error shape ← ${what}`);
              assert.equal(typeof error?.message, 'string', `error shape ← ${what}`);
              assert.deepEqual(f.unexpected, [], `logged as unexpected ← ${what}`);
              await unchanged(what);
            }),
            { numRuns: RUNS_PER_PROPERTY, seed: SEED },
          )
          .catch((err: Error) => {
            throw new Error(`${route}: ${err.message}`);
          });
      }

      await fc.assert(
        fc.asyncProperty(decoratedRead, async ({ base, request }) => {
          const res = await send(f, token, request);
          totals.decorated += 1;
          const what = describeRequest(request);
          if (res.status !== 200) totals.failures.push(`${res.status} ← ${what}`);
          assert.equal(res.status, 200, `${JSON.stringify(res.body).slice(0, 200)} ← ${what}`);
          assert.deepEqual(res.body, baseline.get(base), `answers as the plain request ← ${what}`);
          await unchanged(what);
        }),
        { numRuns: RUNS_PER_PROPERTY, seed: SEED },
      );

      assert.deepEqual(f.unexpected, []);
      assert.deepEqual(await balances(), balancesBefore);
      await f.store.close();
    });
  });
}

after(() => {
  const statuses = [...totals.byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}×${n}`)
    .join(', ');
  const fiveXX = [...totals.byStatus.entries()]
    .filter(([s]) => s >= 500)
    .reduce((n, [, c]) => n + c, 0);
  const expected = storeFactories.length * (Object.keys(refused).length + 1) * RUNS_PER_PROPERTY;
  reportReliability({
    tried: `Generated bad input against every route (fast-check, ${storeFactories.map((s) => s.name).join(' + ')} stores)`,
    figures: `${totals.requests} requests (${totals.refused} bad, ${totals.decorated} decorated reads): ${statuses}; ${fiveXX} 5xx, ${totals.failures.length} failures`,
    check:
      'every bad request a 4xx in the error shape, nothing logged as unexpected, audit and balances deep-equal before/after; decorated reads answer as plain ones',
    held: totals.failures.length === 0 && fiveXX === 0 && totals.requests >= expected,
  });
});

// ---------------------------------------------------------------- a client that goes away

/**
 * Sends a request's head with `Expect: 100-continue`, waits for the server's
 * `100 Continue` (the request has reached the app, which now reads the
 * body), sends `body` — less than the head announces — and destroys the
 * socket: a client that aborts, or a connection reset, mid-body.
 */
function abortMidBody(port: number, head: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
      if (!/^HTTP\/1\.1 100 /.test(answer) || !answer.includes('\r\n\r\n')) return;
      socket.removeAllListeners('data');
      socket.write(body, () => socket.destroy());
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describe('a client that goes away mid-body (a real API process)', () => {
  after(async () => {
    await stopAllApiProcesses();
    await cleanUpTargets();
  });

  it('is a client error: no unexpected error and no stack in the log, nothing changed', async () => {
    const target = sqliteTarget();
    const api = await startReadyApi({
      port: await freePort(),
      databaseUrl: target.databaseUrl,
      chargesFile: join(target.dir, 'charges.jsonl'),
    });
    const put = await callApi(api.base, 'PUT', '/v1/accounts/acme', { planId: 'starter' });
    assert.equal(put.status, 201, put.text);
    const head = (framing: string) =>
      'POST /v1/accounts/acme/usage HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      `Authorization: Bearer ${API_SECRET}\r\nContent-Type: application/json\r\n` +
      `Expect: 100-continue\r\n${framing}\r\n`;
    const port = Number(new URL(api.base).port);
    // 10 of 1000 announced bytes; and a chunked body cut after its first chunk. Several
    // times each: the app must be reading the body when the socket goes, which the
    // client cannot see (it may see the socket gone before it reads).
    for (let round = 0; round < 10; round += 1) {
      await abortMidBody(port, head('Content-Length: 1000\r\n'), '{"callId":');
      await abortMidBody(port, head('Transfer-Encoding: chunked\r\n'), 'a\r\n{"callId":\r\n');
    }
    const balance = await callApi(api.base, 'GET', '/v1/accounts/acme/balance');
    assert.equal(balance.status, 200, balance.text);
    assert.equal(balance.body.plan.usedSeconds, 0);
    const stopped = await terminateApi(api);
    assert.equal(stopped.code, 0, api.output());
    assert.doesNotMatch(api.output(), /unexpected error/i);
    assert.doesNotMatch(api.output(), /^\s+at /m, 'a stack trace in the log');
  });
});
