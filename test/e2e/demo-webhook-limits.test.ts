/**
 * The demo's webhook endpoint (`POST /demo/webhooks`) is guarded like every
 * route the demo adds (DESIGN §7): the API's body limit, and the demo's
 * per-client rate limit with a count of its own — the API delivers from this
 * machine, the same address as a local browser, so deliveries and the page
 * must neither eat nor starve each other's budget. And a delivery the demo
 * verifies but cannot describe is acknowledged (2xx), never a 500 the API
 * would retry for a day. In process (a signing secret and a clock of the
 * test's own), then against the real `npm start` process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createApp } from '../../server/app.js';
import { defaultCatalog } from '../../server/domain/catalog.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';
import { seedDemo } from '../../demo/seed.js';
import { DEMO_LIMITS, demoRoutes } from '../../demo/server.js';
import { WebhookInbox } from '../../demo/webhooks.js';
import { startDemoServer } from '../support/demo-server.js';

const SECRET = `whsec_${Buffer.from('the demo endpoint limits test').toString('base64')}`;
const START = Date.parse('2026-11-28T09:00:00.000Z');

/** A balance.warning_changed event for `accountId`, its body padded to `bytes` when asked. */
function event(accountId: string, bytes = 0) {
  const body = {
    type: 'balance.warning_changed',
    timestamp: new Date(START).toISOString(),
    data: { accountId, from: 'none', to: 'low', note: '' },
  };
  const padding = bytes - JSON.stringify(body).length;
  if (padding > 0) body.data.note = 'x'.repeat(padding);
  return JSON.stringify(body);
}

/** The demo's routes on the API, in process, with a clock the test moves. */
async function demoApp(options: { requestsPerMinute?: number } = {}) {
  let now = START;
  const clock = { now: () => now };
  const store = new MemoryStore();
  const gateway = new TestPaymentGateway();
  const config = { secretKey: 'sk_test_demo_webhook_limits_0123456789', catalog: defaultCatalog };
  const api = createApp({ store, gateway, config, clock });
  await seedDemo(store, defaultCatalog, gateway, Math.floor(START / 86_400_000) * 86_400_000);
  const inbox = new WebhookInbox({ secret: SECRET, catalog: defaultCatalog });
  api.route(
    '/',
    demoRoutes({
      main: { ledger: api.ledger, tokens: api.tokens },
      partner: { ledger: api.ledger, tokens: api.tokens },
      webhooks: inbox,
      clock,
      ...options,
    }),
  );
  let sent = 0;
  return {
    inbox,
    /** Moves the clock on. */
    later: (ms: number) => (now += ms),
    /** Delivers `body` signed with the demo's secret at the clock's time, as the API does. */
    deliver(body: string, id = `msg_${(sent += 1)}`) {
      return api.request('/demo/webhooks', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now / 1000)),
          'webhook-signature': new Webhook(SECRET).sign(id, new Date(now), body),
        },
        body,
      });
    },
    /** One of the page's own requests to the demo's backend. */
    page: () => api.request('/demo/api/accounts'),
  };
}

const codeOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string } }).error.code;

describe('the demo webhook endpoint, in process', () => {
  it("reads no more than the API's body limit: a larger delivery is a 413 and is not kept", async () => {
    const demo = await demoApp();
    const limit = DEMO_LIMITS.maxBodyBytes;
    assert.equal(limit, 16 * 1024, "the API's 16 KiB");

    const over = await demo.deliver(event('demo-fresh', limit + 1), 'msg_over');
    assert.equal(over.status, 413);
    assert.equal(await codeOf(over), 'payload_too_large');
    assert.deepEqual(demo.inbox.list(), [], 'a signed body over the limit is not kept');

    // At the limit exactly, the same delivery is kept.
    const at = await demo.deliver(event('demo-fresh', limit), 'msg_at');
    assert.equal(at.status, 204);
    assert.deepEqual(
      demo.inbox.list().map((w) => w.id),
      ['msg_at'],
    );
  });

  it("limits deliveries per client with a count of their own, apart from the page's", async () => {
    const perMinute = 5;
    const demo = await demoApp({ requestsPerMinute: perMinute });
    for (let i = 0; i < perMinute; i += 1) {
      assert.equal((await demo.deliver(event('demo-fresh'))).status, 204, `delivery ${i + 1}`);
    }
    const refused = await demo.deliver(event('demo-fresh'), 'msg_refused');
    assert.equal(refused.status, 429);
    assert.equal(await codeOf(refused), 'rate_limited');
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.equal(demo.inbox.list().length, perMinute, 'a refused delivery is not kept');

    // The page's budget is whole: all of it, then a 429 of its own…
    for (let i = 0; i < perMinute; i += 1) {
      assert.equal((await demo.page()).status, 200, `page request ${i + 1}`);
    }
    assert.equal((await demo.page()).status, 429);

    // …and a minute later both have theirs again; the refused one comes back.
    demo.later(60_000);
    assert.equal((await demo.deliver(event('demo-fresh'), 'msg_refused')).status, 204);
    assert.equal(demo.inbox.list()[0].id, 'msg_refused');
    assert.equal((await demo.page()).status, 200);
  });

  it("is not starved by the page: deliveries go on once the page's budget is used up", async () => {
    const perMinute = 5;
    const demo = await demoApp({ requestsPerMinute: perMinute });
    for (let i = 0; i < perMinute; i += 1) assert.equal((await demo.page()).status, 200);
    assert.equal((await demo.page()).status, 429);
    for (let i = 0; i < perMinute; i += 1) {
      assert.equal((await demo.deliver(event('demo-fresh'))).status, 204, `delivery ${i + 1}`);
    }
  });

  it('acknowledges a verified event it cannot describe (204, listed by its type), never a 500', async () => {
    const demo = await demoApp();
    const body = JSON.stringify({
      type: 'purchase.succeeded',
      timestamp: new Date(START).toISOString(),
      data: { accountId: 'demo-fresh', auto: true },
    });
    const res = await demo.deliver(body, 'msg_no_purchase');
    assert.equal(res.status, 204, await res.text());
    const [kept] = demo.inbox.list();
    assert.equal(kept.id, 'msg_no_purchase');
    assert.equal(kept.type, 'purchase.succeeded');
    assert.equal(kept.accountId, 'demo-fresh');
    assert.match(kept.summary, /^purchase\.succeeded \(not described/);
    // Sent again (at least once), it is acknowledged and still listed once.
    assert.equal((await demo.deliver(body, 'msg_no_purchase')).status, 204);
    assert.equal(demo.inbox.list().length, 1);
  });
});

describe('the demo webhook endpoint, against the real process', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;

  before(async () => {
    demo = await startDemoServer();
  });
  after(async () => {
    await demo?.stop();
  });

  const post = (body: string, id: string) =>
    fetch(`${demo.base}/demo/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.from('not the signature').toString('base64')}`,
      },
      body,
    });

  it('refuses a body over 16 KiB with 413, and a flood of posts with 429, leaving the page its budget', async () => {
    const big = await post(event('demo-fresh', DEMO_LIMITS.maxBodyBytes + 1024), 'msg_big');
    assert.equal(big.status, 413);
    assert.equal(await codeOf(big), 'payload_too_large');

    // Forged posts (400 each) until the endpoint's own count is used up. The
    // API's own deliveries share it: none on this server, where nothing happens.
    const limit = DEMO_LIMITS.requestsPerMinute;
    let allowed = 1; // the 413 counted
    let refused: Response | undefined;
    for (let i = 0; i < limit + 10 && !refused; i += 1) {
      const res = await post(event('demo-fresh'), `msg_forged_${i}`);
      if (res.status === 429) refused = res;
      else {
        assert.equal(res.status, 400);
        assert.equal(await codeOf(res), 'invalid_signature');
        allowed += 1;
      }
    }
    assert.ok(refused, 'never refused');
    assert.equal(allowed, limit, `the endpoint takes ${limit} a minute`);
    assert.equal(await codeOf(refused), 'rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);

    // The page's own budget is whole: the start-up probe and this page's
    // requests share the demo's 120, and nothing else took from it.
    let pageAllowed = 0;
    for (let i = 0; i < limit + 10; i += 1) {
      const res = await fetch(`${demo.base}/demo/api/accounts`);
      await res.arrayBuffer();
      if (res.status === 429) break;
      assert.equal(res.status, 200);
      pageAllowed += 1;
    }
    assert.equal(pageAllowed + 1, limit, 'the page kept its whole budget');
    // Nothing of it was kept.
    const list = (await (await fetch(`${demo.base}/demo/api/webhooks`)).json()) as {
      webhooks: unknown[];
    };
    assert.deepEqual(list.webhooks, []);
  });
});
