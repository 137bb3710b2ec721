/**
 * The demo's own routes (`/demo/api/*`) are as guarded as the API's: a body
 * over 16 KiB is refused with 413 as soon as it passes the limit — announced
 * or chunked, without the process reading it whole — and a client that asks
 * too often gets 429 with `Retry-After`. Against the real `npm start` process.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DEMO_LIMITS } from '../../demo/server.js';
import { startDemoServer } from '../support/demo-server.js';

/** The resident memory of a process, in bytes (Linux). */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.ok(kb, `no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

const MB = 1024 * 1024;

/**
 * POSTs a JSON body of up to `totalBytes` with chunked encoding (no length
 * announced), 64 KiB at a time and only as fast as the server reads, until
 * the answer arrives. Returns the answer and how much had been sent by then.
 */
async function sendChunked(url: string, totalBytes: number) {
  const req = request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  // The server closes the connection soon after answering: not a failure here.
  req.on('error', () => undefined);
  let answered: IncomingMessage | undefined;
  const answer = once(req, 'response').then(([res]) => {
    answered = res as IncomingMessage;
    return answered;
  });
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let sent = 0;
  req.write('{"accountId":"');
  while (!answered && sent < totalBytes) {
    sent += chunk.length;
    // Backpressure: wait for the server to read, or for its answer.
    if (!req.write(chunk)) await Promise.race([once(req, 'drain'), answer]);
  }
  const sentWhenAnswered = sent;
  if (!answered) req.end('"}');
  const res = await answer;
  const body = await new Promise<string>((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', () => resolve(text));
    res.on('close', () => resolve(text));
  });
  req.destroy();
  return {
    status: res.statusCode,
    body,
    sentWhenAnswered,
    completed: sentWhenAnswered >= totalBytes,
  };
}

describe('the demo routes: body limit and rate limit', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;

  before(async () => {
    demo = await startDemoServer();
  });
  after(async () => {
    await demo?.stop();
  });

  it('refuses a 64 MB chunked body with 413 long before its end, and does not grow', async () => {
    const total = 64 * MB;
    const rssBefore = rssOf(demo.pid);
    const { status, body, sentWhenAnswered, completed } = await sendChunked(
      `${demo.base}/demo/api/session`,
      total,
    );
    assert.equal(status, 413, body);
    assert.equal(JSON.parse(body).error.code, 'payload_too_large');
    // Socket buffers hold a few MB at most; the server stopped reading at 16 KiB.
    assert.ok(!completed, 'the whole body was sent before the answer came');
    assert.ok(sentWhenAnswered <= 16 * MB, `${sentWhenAnswered / MB} MB sent before the answer`);
    const grown = rssOf(demo.pid) - rssBefore;
    assert.ok(grown < 40 * MB, `the server grew by ${Math.round(grown / MB)} MB`);
    // And it still serves.
    assert.equal((await fetch(`${demo.base}/demo/api/accounts`)).status, 200);
  });

  it('takes a client that aborts mid-body for what it is: no unexpected error in the log', async () => {
    const req = request(`${demo.base}/demo/api/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    // Send part of the body; once the server has answered a later request it
    // has read the earlier bytes (and is waiting for the rest): go away.
    await new Promise<void>((resolve) =>
      req.write('{"accountId":"demo-fresh","seconds":', () => resolve()),
    );
    assert.equal((await fetch(`${demo.base}/demo/api/accounts`)).status, 200);
    req.destroy();
    // The server still serves; an error it logged for the abort shows within
    // milliseconds (before the fix), so a short grace period is enough for a
    // check that something does not happen.
    assert.equal((await fetch(`${demo.base}/demo/api/accounts`)).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(demo.log(), /unexpected error/);
  });

  it('refuses an announced body over 16 KiB with 413, on every /demo/api route', async () => {
    // Over the limit by a kilobyte, whatever the limit is.
    const big = JSON.stringify({
      accountId: 'demo-fresh',
      padding: 'a'.repeat(DEMO_LIMITS.maxBodyBytes + 1024),
    });
    for (const path of [
      '/demo/api/session',
      '/demo/api/calls',
      '/demo/api/grants',
      '/demo/api/refunds',
    ]) {
      const res = await fetch(demo.base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      });
      assert.equal(res.status, 413, path);
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        'payload_too_large',
      );
    }
  });

  it(`answers a client that asks more than ${DEMO_LIMITS.requestsPerMinute} times a minute with 429 and Retry-After`, async () => {
    const limit = DEMO_LIMITS.requestsPerMinute;
    // A fresh server: its window opens with the start-up probe (one request).
    const own = await startDemoServer();
    try {
      const session = () =>
        fetch(`${own.base}/demo/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ accountId: 'demo-fresh' }),
        });
      let allowed = 0;
      let refused: Response | undefined;
      for (let i = 0; i < limit + 10 && !refused; i += 1) {
        const res = await session();
        if (res.status === 429) refused = res;
        else {
          assert.equal(res.status, 200);
          allowed += 1;
          await res.arrayBuffer();
        }
      }
      assert.ok(refused, 'never refused');
      assert.equal(
        allowed + 1,
        limit,
        `the start-up probe and the sessions share ${limit} a minute`,
      );
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
      assert.equal(
        ((await refused.json()) as { error: { code: string } }).error.code,
        'rate_limited',
      );
      // Every demo API route counts, reads and calls alike ...
      assert.equal((await fetch(`${own.base}/demo/api/accounts`)).status, 429);
      const call = await fetch(`${own.base}/demo/api/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: 'demo-fresh', seconds: 60 }),
      });
      assert.equal(call.status, 429);
      // ... but not the pages.
      assert.equal((await fetch(`${own.base}/demo/billing`)).status, 200);
    } finally {
      await own.stop();
    }
  });

  it("limits the partner API's purchases per account like the main API's (30 a minute)", async () => {
    const res = await fetch(`${demo.base}/demo/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'demo-fresh', tenant: 'partner' }),
    });
    const { token } = (await res.json()) as { token: string };
    const buy = (i: number) =>
      fetch(`${demo.base}/partner/v1/accounts/demo-fresh/purchases`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `limit-test-${i}`,
        },
        body: JSON.stringify({ packageId: 'small' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 31; i += 1) statuses.push((await buy(i)).status);
    assert.deepEqual(statuses, [...Array(30).fill(201), 429], 'thirty purchases, then 429');
  });
});
