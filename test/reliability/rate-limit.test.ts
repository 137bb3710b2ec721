import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AppConfig } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { DEFAULT_RATE_LIMITS, FixedWindowCounter } from '../../server/http/rate-limit.js';
import { DEMO_TEST_SECRET, startDemoServer } from '../support/demo-server.js';
import { fixture, SECRET, storeFactories, type StoreFactory } from '../support/api.js';
import { reportReliability } from '../support/reliability-report.js';

const figures = { requests: 0, limited: 0, ledgerChangesBy429: 0, chargesBy429: 0, failures: 0 };

/** An app with the given limits over a fresh store, a manual clock and accounts acme and other. */
async function limitedApp(factory: StoreFactory, rateLimits: AppConfig['rateLimits']) {
  const f = await fixture(await factory.open(), { rateLimits });
  const { app, store, clock, gateway, unexpected } = f;
  /** The fixture's request, counted for the report. */
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    auth = SECRET,
  ) => {
    const res = await f.call(method, path, { body, headers, auth });
    figures.requests += 1;
    if (res.status === 429) figures.limited += 1;
    return res;
  };
  for (const id of ['acme', 'other']) {
    assert.equal((await call('PUT', `/v1/accounts/${id}`, { planId: 'starter' })).status, 201);
  }
  let n = 0;
  const buy = (account = 'acme', key = `key-${++n}`, auth = SECRET) =>
    call(
      'POST',
      `/v1/accounts/${account}/purchases`,
      { packageId: 'small' },
      { 'idempotency-key': key },
      auth,
    );
  const mint = (accountId = 'acme') => call('POST', '/v1/sessions', { accountId });
  return { app, store, clock, gateway, unexpected, call, buy, mint };
}

/** Asserts a 429 in the error shape with `Retry-After` in whole seconds ≥ 1; returns them. */
function assertLimited(res: { status: number; headers: Headers; body: any }): number {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'rate_limited');
  assert.equal(typeof res.body.error.message, 'string');
  const retryAfter = res.headers.get('retry-after') ?? '';
  assert.match(retryAfter, /^[1-9]\d*$/, 'Retry-After is a whole number of seconds ≥ 1');
  return Number(retryAfter);
}

const track = async (fn: () => Promise<void>) => {
  try {
    await fn();
  } catch (err) {
    figures.failures += 1;
    throw err;
  }
};

for (const factory of storeFactories) {
  describe(`rate limits (${factory.name} store)`, () => {
    it('answers the N+1-th token mint for one account with 429 and Retry-After, others unaffected', () =>
      track(async () => {
        const t = await limitedApp(factory, { sessionsPerMinute: 3, purchasesPerMinute: 0 });
        for (let i = 0; i < 3; i += 1) assert.equal((await t.mint()).status, 201);
        t.clock.advance(10_000);
        assert.equal(assertLimited(await t.mint()), 50);
        assert.equal((await t.mint('other')).status, 201, 'another account is unaffected');
        t.clock.advance(49_000);
        assertLimited(await t.mint());
        t.clock.advance(1_000);
        assert.equal((await t.mint()).status, 201, 'a new window opens once the old one ends');
        assert.deepEqual(t.unexpected, []);
      }));

    it('counts only requests that would mint: refused ones spend nobody’s budget', () =>
      track(async () => {
        const t = await limitedApp(factory, { sessionsPerMinute: 2 });
        const widget = (await t.mint('other')).body.token;
        for (let i = 0; i < 5; i += 1) {
          // A widget token may not mint (403), a malformed body is a 400: neither counts.
          assert.equal(
            (await t.call('POST', '/v1/sessions', { accountId: 'acme' }, {}, widget)).status,
            403,
          );
          assert.equal(
            (await t.call('POST', '/v1/sessions', { accountId: 'acme', x: 1 })).status,
            400,
          );
        }
        assert.equal((await t.mint()).status, 201);
        assert.equal((await t.mint()).status, 201);
        assertLimited(await t.mint());
      }));

    it('answers the N+1-th purchase with 429, charging nothing and changing no ledger row', () =>
      track(async () => {
        const t = await limitedApp(factory, { purchasesPerMinute: 3 });
        const token = (await t.mint('acme')).body.token;
        assert.equal((await t.buy('acme', 'k1')).status, 201);
        assert.equal((await t.buy('acme', 'k2', token)).status, 201, 'a widget token counts too');
        assert.equal((await t.buy('acme', 'k1')).status, 201, 'a replay answers as before …');
        const audit = await t.store.audit();
        const charges = t.gateway.chargeCount;
        const balance = (await t.call('GET', '/v1/accounts/acme/balance')).body;
        t.clock.advance(1_500);
        const limited = await t.buy('acme', 'k3', token);
        assert.equal(assertLimited(limited), 59, '… and is counted: the 4th request is refused');
        const replay = await t.buy('acme', 'k1');
        assertLimited(replay);
        if (JSON.stringify(await t.store.audit()) !== JSON.stringify(audit))
          figures.ledgerChangesBy429 += 1;
        if (t.gateway.chargeCount !== charges) figures.chargesBy429 += 1;
        assert.deepEqual(await t.store.audit(), audit, 'no ledger row changed');
        assert.equal(t.gateway.chargeCount, charges, 'nothing charged');
        assert.deepEqual((await t.call('GET', '/v1/accounts/acme/balance')).body, balance);
        assert.equal(
          (await t.buy('other', 'other-k3')).status,
          201,
          'another account is unaffected',
        );

        t.clock.advance(59_000);
        const later = await t.buy('acme', 'k3', token);
        assert.equal(later.status, 201, 'the same key goes through once the window has passed');
        assert.equal(t.gateway.chargeCount, charges + 2);
        assert.deepEqual(t.unexpected, []);
      }));

    it('does not let one account’s widget token use up another’s purchases', () =>
      track(async () => {
        const t = await limitedApp(factory, { purchasesPerMinute: 1 });
        const theirs = (await t.mint('other')).body.token;
        for (let i = 0; i < 5; i += 1)
          assert.equal((await t.buy('acme', `x${i}`, theirs)).status, 403);
        assert.equal((await t.buy('acme')).status, 201);
        assertLimited(await t.buy('acme'));
      }));

    it('lets a 429 through CORS with Retry-After readable by the widget', () =>
      track(async () => {
        const t = await limitedApp(factory, { purchasesPerMinute: 1 });
        await t.buy('acme');
        const res = await t.app.request('/v1/accounts/acme/purchases', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${SECRET}`,
            'content-type': 'application/json',
            'idempotency-key': 'cors',
            origin: 'https://host.example',
          },
          body: JSON.stringify({ packageId: 'small' }),
        });
        figures.requests += 1;
        assert.equal(res.status, 429);
        figures.limited += 1;
        assert.equal(res.headers.get('access-control-allow-origin'), 'https://host.example');
        assert.match(res.headers.get('access-control-expose-headers') ?? '', /Retry-After/i);
      }));

    it('answers the N+1-th widget read of one account with 429 and Retry-After; other accounts and the secret key still read', () =>
      track(async () => {
        const t = await limitedApp(factory, { readsPerMinute: 3 });
        const acme = (await t.mint('acme')).body.token;
        const acme2 = (await t.mint('acme')).body.token;
        const other = (await t.mint('other')).body.token;
        const read = (path: string, token: string, account = 'acme') =>
          t.call('GET', `/v1/accounts/${account}/${path}`, undefined, {}, token);
        // Every GET under the account counts, whichever of its tokens makes it.
        assert.equal((await read('balance', acme)).status, 200);
        assert.equal((await read('purchases', acme2)).status, 200);
        assert.equal((await read('recommendation', acme)).status, 200);
        t.clock.advance(20_000);
        for (const path of ['balance', 'purchases', 'recommendation']) {
          assert.equal(assertLimited(await read(path, acme)), 40, path);
          assertLimited(await read(path, acme2));
        }
        // Fair to the others: another account's widget, and the host's backend.
        for (let i = 0; i < 3; i += 1) {
          assert.equal((await read('balance', other, 'other')).status, 200, 'another account');
        }
        for (let i = 0; i < 10; i += 1) {
          assert.equal((await read('balance', SECRET)).status, 200, 'the secret key');
        }
        // Purchases have their own budget.
        assert.equal((await t.buy('acme', 'while-reads-limited', acme)).status, 201);
        t.clock.advance(40_000);
        assert.equal((await read('balance', acme)).status, 200, 'a new window opens');
        assert.deepEqual(t.unexpected, []);
      }));

    it('counts HEAD requests as reads (Hono answers them with the GET handler)', () =>
      track(async () => {
        const t = await limitedApp(factory, { readsPerMinute: 3 });
        const acme = (await t.mint('acme')).body.token;
        for (let i = 0; i < 3; i += 1) {
          const res = await t.call('HEAD', '/v1/accounts/acme/balance', undefined, {}, acme);
          assert.equal(res.status, 200);
        }
        const head = await t.call('HEAD', '/v1/accounts/acme/balance', undefined, {}, acme);
        assert.equal(head.status, 429, 'a HEAD past the limit');
        assert.match(head.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        assertLimited(await t.call('GET', '/v1/accounts/acme/balance', undefined, {}, acme));
      }));

    it('does not let another account’s widget token spend an account’s reads', () =>
      track(async () => {
        const t = await limitedApp(factory, { readsPerMinute: 2 });
        const acme = (await t.mint('acme')).body.token;
        const other = (await t.mint('other')).body.token;
        for (let i = 0; i < 10; i += 1) {
          const res = await t.call('GET', '/v1/accounts/acme/balance', undefined, {}, other);
          assert.equal(res.status, 403, 'refused, and not counted');
        }
        for (const token of ['a.b.c', 'nonsense']) {
          const res = await t.call('GET', '/v1/accounts/acme/balance', undefined, {}, token);
          assert.equal(res.status, 401);
        }
        assert.equal(
          (await t.call('GET', '/v1/accounts/acme/balance', undefined, {}, acme)).status,
          200,
        );
        assert.equal(
          (await t.call('GET', '/v1/accounts/acme/purchases', undefined, {}, acme)).status,
          200,
        );
        assertLimited(await t.call('GET', '/v1/accounts/acme/balance', undefined, {}, acme));
        // …and the limited account's token cannot spend the other's either.
        assert.equal(
          (await t.call('GET', '/v1/accounts/other/balance', undefined, {}, other)).status,
          200,
        );
      }));

    it('limits widget reads by default (600 a minute) once limits are on, and not at all without them', () =>
      track(async () => {
        assert.equal(DEFAULT_RATE_LIMITS.readsPerMinute, 600);
        for (const [limits, limit] of [
          [{}, DEFAULT_RATE_LIMITS.readsPerMinute],
          [undefined, Infinity],
          [{ readsPerMinute: 0 }, Infinity],
          [{ readsPerMinute: Infinity }, Infinity],
        ] as const) {
          const t = await limitedApp(factory, limits);
          const token = (await t.mint('acme')).body.token;
          const n = DEFAULT_RATE_LIMITS.readsPerMinute;
          const answers = await Promise.all(
            Array.from({ length: n + 1 }, () =>
              t.app.request('/v1/accounts/acme/balance', {
                headers: { authorization: `Bearer ${token}` },
              }),
            ),
          );
          const limited = answers.filter((r) => r.status === 429).length;
          figures.requests += answers.length;
          figures.limited += limited;
          assert.equal(limited, limit === Infinity ? 0 : n + 1 - limit, JSON.stringify(limits));
          assert.equal(answers.filter((r) => r.status === 200).length, Math.min(n + 1, limit));
        }
      }));

    it('takes the defaults for a field left out, and 0 or Infinity as no limit', () =>
      track(async () => {
        const defaults = await limitedApp(factory, {});
        for (let i = 0; i < DEFAULT_RATE_LIMITS.purchasesPerMinute; i += 1) {
          assert.equal((await defaults.buy()).status, 201);
        }
        assertLimited(await defaults.buy());
        for (const off of [0, Infinity]) {
          const t = await limitedApp(factory, { sessionsPerMinute: off, purchasesPerMinute: off });
          for (let i = 0; i < DEFAULT_RATE_LIMITS.sessionsPerMinute + 5; i += 1) {
            assert.equal((await t.mint()).status, 201);
          }
          for (let i = 0; i < DEFAULT_RATE_LIMITS.purchasesPerMinute + 5; i += 1) {
            assert.equal((await t.buy()).status, 201);
          }
        }
      }));
  });
}

describe('rate limits and bad input', () => {
  it('answer bad requests exactly as an app without limits does', () =>
    track(async () => {
      const factory = storeFactories[0];
      const limited = await limitedApp(factory, {
        sessionsPerMinute: 100,
        purchasesPerMinute: 100,
        readsPerMinute: 100,
      });
      const open = await limitedApp(factory, undefined);
      const token = (await open.mint('acme')).body.token;
      const limitedToken = (await limited.mint('acme')).body.token;
      const cases: [
        string,
        string,
        string | undefined,
        Record<string, string>,
        'secret' | 'widget',
      ][] = [
        ['POST', '/v1/sessions', '{"accountId":', {}, 'secret'],
        ['GET', '/v1/accounts/nobody/balance', undefined, {}, 'secret'],
        ['GET', '/v1/accounts/other/balance', undefined, {}, 'widget'],
        ['GET', '/v1/accounts/bad%20id/purchases', undefined, {}, 'widget'],
        [
          'POST',
          '/v1/sessions',
          JSON.stringify({ accountId: 'acme', pad: 'x'.repeat(20_000) }),
          {},
          'secret',
        ],
        [
          'POST',
          '/v1/sessions',
          JSON.stringify({ accountId: 'acme' }),
          { 'content-type': 'text/plain' },
          'secret',
        ],
        ['POST', '/v1/sessions', JSON.stringify({ accountId: 'nobody' }), {}, 'secret'],
        ['POST', '/v1/sessions', JSON.stringify({ accountId: 'acme' }), {}, 'widget'],
        [
          'POST',
          '/v1/accounts/acme/purchases',
          '{"packageId":',
          { 'idempotency-key': 'a' },
          'secret',
        ],
        [
          'POST',
          '/v1/accounts/acme/purchases',
          JSON.stringify({ packageId: 'huge' }),
          { 'idempotency-key': 'b' },
          'widget',
        ],
        [
          'POST',
          '/v1/accounts/acme/purchases',
          JSON.stringify({ packageId: 'small' }),
          {},
          'secret',
        ],
        [
          'POST',
          '/v1/accounts/bad%20id/purchases',
          JSON.stringify({ packageId: 'small' }),
          { 'idempotency-key': 'c' },
          'secret',
        ],
        [
          'POST',
          '/v1/accounts/nobody/purchases',
          JSON.stringify({ packageId: 'small' }),
          { 'idempotency-key': 'd' },
          'secret',
        ],
        [
          'POST',
          '/v1/accounts/other/purchases',
          JSON.stringify({ packageId: 'small' }),
          { 'idempotency-key': 'e' },
          'widget',
        ],
      ];
      for (const [method, path, body, headers, who] of cases) {
        const answers = [];
        for (const [t, widget] of [
          [open, token],
          [limited, limitedToken],
        ] as const) {
          const res = await t.app.request(path, {
            method,
            headers: {
              'content-type': 'application/json',
              ...headers,
              authorization: `Bearer ${who === 'secret' ? SECRET : widget}`,
            },
            body,
          });
          figures.requests += 1;
          answers.push({ status: res.status, body: await res.json() });
        }
        assert.ok(
          answers[0].status >= 400 && answers[0].status < 500,
          `${path}: ${answers[0].status}`,
        );
        assert.deepEqual(answers[1], answers[0], `${method} ${path} ${String(body).slice(0, 40)}`);
      }
      assert.deepEqual([...open.unexpected, ...limited.unexpected], []);
    }));
});

describe('the server process', () => {
  it('takes its limits from MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE, …_SESSIONS_…, …_READS_…', () =>
    track(async () => {
      const demo = await startDemoServer({
        MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE: '2',
        MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE: '1',
        MINUTE_TOPUP_RATE_READS_PER_MINUTE: '2',
      });
      try {
        const send = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
          const res = await fetch(demo.base + path, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${DEMO_TEST_SECRET}`,
              'content-type': 'application/json',
              ...headers,
            },
            body: JSON.stringify(body),
          });
          figures.requests += 1;
          if (res.status === 429) figures.limited += 1;
          return {
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            body: await res.json(),
          };
        };
        const buy = (key: string) =>
          send(
            '/v1/accounts/demo-fresh/purchases',
            { packageId: 'small' },
            { 'idempotency-key': key },
          );
        assert.equal((await buy(`p1-${Date.now()}`)).status, 201);
        assert.equal((await buy(`p2-${Date.now()}`)).status, 201);
        const limited = await buy(`p3-${Date.now()}`);
        assert.equal(limited.status, 429, JSON.stringify(limited.body));
        assert.match(limited.retryAfter ?? '', /^[1-9]\d*$/);
        const session = await send('/v1/sessions', { accountId: 'demo-fresh' });
        assert.equal(session.status, 201);
        assert.equal((await send('/v1/sessions', { accountId: 'demo-fresh' })).status, 429);
        const read = () =>
          fetch(`${demo.base}/v1/accounts/demo-fresh/balance`, {
            headers: { authorization: `Bearer ${session.body.token}` },
          });
        for (let i = 0; i < 2; i += 1) assert.equal((await read()).status, 200);
        const limitedRead = await read();
        assert.equal(limitedRead.status, 429);
        assert.match(limitedRead.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      } finally {
        await demo.stop();
      }
    }));
});

describe('FixedWindowCounter', () => {
  it('never admits more than the limit per key in one window, and holds at most maxKeys keys', () =>
    track(async () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 5 }),
          fc.constantFrom(4, 8, 12, 100),
          fc.array(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 40_000 })), {
            maxLength: 300,
          }),
          (limit, maxKeys, hits) => {
            const windowMs = 60_000;
            const counter = new FixedWindowCounter({ limit, windowMs, maxKeys });
            const admitted = new Map<string, number[]>();
            let now = 0;
            for (const [k, dt] of hits) {
              now += dt;
              const key = `acct-${k}`;
              const d = counter.hit(key, now);
              assert.ok(counter.size <= maxKeys);
              if (d.allowed) (admitted.get(key) ?? admitted.set(key, []).get(key)!).push(now);
              else assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= windowMs);
            }
            // A fixed window admits at most 2 × limit in any span of windowMs
            // (unless live keys were dropped for room: 12 keys, fewer places).
            if (maxKeys < 12) return;
            for (const times of admitted.values()) {
              for (let i = 0; i + 2 * limit < times.length; i += 1) {
                assert.ok(times[i + 2 * limit] - times[i] >= windowMs);
              }
            }
          },
        ),
        { numRuns: 300 },
      );
    }));

  it('forgets expired windows, so memory stays bounded by the keys active in one window', () => {
    const counter = new FixedWindowCounter({ limit: 2, windowMs: 60_000, maxKeys: 1000 });
    for (let i = 0; i < 500; i += 1) counter.hit(`a-${i}`, 0);
    assert.equal(counter.size, 500);
    counter.hit('late', 60_000);
    assert.equal(counter.size, 1);
    for (let i = 0; i < 5000; i += 1) counter.hit(`b-${i}`, 60_001);
    assert.equal(counter.size, 1000);
  });
});

describe('MINUTE_TOPUP_RATE_* in the environment', () => {
  it('reads the limits, defaults them, and refuses a bad value in one sentence', () => {
    assert.deepEqual(loadConfig({}).rateLimits, DEFAULT_RATE_LIMITS);
    assert.deepEqual(
      loadConfig({
        MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE: '5',
        MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE: 'Infinity',
        MINUTE_TOPUP_RATE_READS_PER_MINUTE: '120',
      }).rateLimits,
      { sessionsPerMinute: 5, purchasesPerMinute: Infinity, readsPerMinute: 120 },
    );
    assert.equal(
      loadConfig({ MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE: '0' }).rateLimits.purchasesPerMinute,
      0,
    );
    for (const bad of ['-1', '1.5', 'lots', '1e400x']) {
      assert.throws(
        () => loadConfig({ MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE: bad }),
        /MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE must be a whole number/,
      );
      assert.throws(
        () => loadConfig({ MINUTE_TOPUP_RATE_READS_PER_MINUTE: bad }),
        /MINUTE_TOPUP_RATE_READS_PER_MINUTE must be a whole number/,
      );
    }
  });
});

after(() => {
  reportReliability({
    tried: `Rate limits on token mints and purchases per account (${storeFactories.map((f) => f.name).join(' + ')}, manual clock)`,
    figures: `${figures.requests} requests, ${figures.limited} answered 429; ${figures.ledgerChangesBy429} ledger changes and ${figures.chargesBy429} charges by a 429; ${figures.failures} failures`,
    check:
      'the N+1-th request in a window is a 429 with Retry-After ≥ 1 s, other accounts unaffected, requests pass again after the window, a 429 changes nothing',
    held:
      figures.failures === 0 &&
      figures.limited > 0 &&
      figures.ledgerChangesBy429 === 0 &&
      figures.chargesBy429 === 0,
  });
});
