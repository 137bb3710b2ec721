import { expect } from '@open-wc/testing';
import { ApiError, createApiClient, type ApiClientOptions } from '../../widget/api-client.js';

const balance = { warning: 'none' };

/**
 * A fake `fetch` that accepts only the tokens in `valid` (401 otherwise) and
 * records the authorization each request carried.
 */
function fakeApi(valid: string[]) {
  const sent: (string | null)[] = [];
  const fetch = async (_url: RequestInfo | URL, init: RequestInit = {}) => {
    const auth = new Headers(init.headers).get('authorization');
    sent.push(auth);
    await new Promise((r) => setTimeout(r));
    return valid.some((token) => auth === `Bearer ${token}`) || !auth
      ? Response.json(balance)
      : Response.json({ error: { code: 'unauthorized', message: 'Expired' } }, { status: 401 });
  };
  return { fetch: fetch as typeof globalThis.fetch, sent };
}

/** A `fetchToken` that hands out the given answers in turn (a function: what it returns or throws) and counts its calls. */
function tokens(...given: unknown[]) {
  const host = {
    calls: 0,
    fetchToken: async () => {
      const answer = given[host.calls++];
      return (typeof answer === 'function' ? answer() : answer) as string;
    },
  };
  return host;
}

const client = (options: Partial<ApiClientOptions>) =>
  createApiClient({ base: 'https://api.test/', accountId: 'acc 1', ...options });

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('resolved'),
    (e: unknown) => e as ApiError,
  );

describe('createApiClient', () => {
  it('sends the token it was given, and none for the catalog', async () => {
    const api = fakeApi(['t1']);
    const urls: string[] = [];
    const fetch = (url: RequestInfo | URL, init?: RequestInit) => (
      urls.push(String(url)),
      api.fetch(url, init)
    );
    const c = client({ token: () => 't1', fetch: fetch as typeof globalThis.fetch });
    await c.balance();
    await c.catalog();
    expect(api.sent).to.deep.equal(['Bearer t1', null]);
    expect(urls).to.deep.equal([
      'https://api.test/v1/accounts/acc%201/balance',
      'https://api.test/v1/catalog',
    ]);
  });

  it('asks fetchToken once for the first token, shared by requests at the same time', async () => {
    const api = fakeApi(['t1']);
    const host = tokens('t1');
    const c = client({ fetchToken: host.fetchToken, fetch: api.fetch });
    await Promise.all([c.balance(), c.purchases(), c.recommendation()]);
    expect(host.calls).to.equal(1);
    expect(api.sent).to.deep.equal(['Bearer t1', 'Bearer t1', 'Bearer t1']);
  });

  it('asks once for a new token after a 401, shared by every request that had the stale one, and retries', async () => {
    const api = fakeApi(['fresh']);
    const host = tokens('fresh');
    const c = client({ token: () => 'stale', fetchToken: host.fetchToken, fetch: api.fetch });
    await Promise.all([c.balance(), c.purchases()]);
    expect(host.calls).to.equal(1);
    expect(api.sent).to.deep.equal([
      'Bearer stale',
      'Bearer stale',
      'Bearer fresh',
      'Bearer fresh',
    ]);
    await c.balance();
    expect(api.sent.at(-1)).to.equal('Bearer fresh');
  });

  it('sends no change with a fresh token that may only view, and reads with it', async () => {
    const view = `e30.${btoa(JSON.stringify({ scope: 'view' })).replace(/=+$/, '')}.c2ln`;
    const api = fakeApi([view]);
    const told: string[] = [];
    const host = tokens(view);
    const c = client({
      token: () => 'stale',
      fetchToken: host.fetchToken,
      fetch: api.fetch,
      onToken: (token) => told.push(token),
    });
    const request = { enabled: true, thresholdMinutes: 30, packageId: 'medium', monthlyLimit: 3 };
    const error = await refusal(c.setAutoTopup(request));
    expect(error).to.include({ status: 0, code: 'forbidden' });
    expect(api.sent).to.deep.equal(['Bearer stale']);
    // The widget still hears of the token (its scope hides what it may not do).
    expect(told).to.deep.equal(['stale', view]);
    expect(await refusal(c.purchase('medium', 'k1'))).to.include({ code: 'forbidden' });
    expect(api.sent).to.have.length(1);
    await c.balance();
    expect(api.sent).to.deep.equal(['Bearer stale', `Bearer ${view}`]);
  });

  it('retries only once: a second 401 is `unauthorized`', async () => {
    const api = fakeApi([]);
    const host = tokens('still-bad', 'never-asked');
    const c = client({ token: () => 'stale', fetchToken: host.fetchToken, fetch: api.fetch });
    const error = await refusal(c.balance());
    expect(error).to.be.instanceOf(ApiError);
    expect(error).to.include({ status: 401, code: 'unauthorized' });
    expect(host.calls).to.equal(1);
    expect(api.sent).to.deep.equal(['Bearer stale', 'Bearer still-bad']);
  });

  it('without fetchToken, a 401 is final', async () => {
    const api = fakeApi([]);
    const error = await refusal(client({ token: () => 'stale', fetch: api.fetch }).balance());
    expect(error).to.include({ status: 401, code: 'unauthorized' });
    expect(api.sent).to.have.length(1);
  });

  for (const [what, given] of [
    ['an empty token', ''],
    ['no string', undefined],
    [
      'a rejection',
      () => {
        throw new Error('signed out');
      },
    ],
  ] as const) {
    it(`sends nothing when fetchToken gives ${what}, and asks again on the next call`, async () => {
      const api = fakeApi(['t2']);
      const host = tokens(given, 't2');
      const c = client({ fetchToken: host.fetchToken, fetch: api.fetch });
      const error = await refusal(c.balance());
      expect(error).to.include({ status: 0, code: 'no_token' });
      expect(api.sent).to.deep.equal([]);
      await c.balance();
      expect(host.calls).to.equal(2);
      expect(api.sent).to.deep.equal(['Bearer t2']);
    });
  }

  it('without token and fetchToken, sends no account request', async () => {
    const api = fakeApi([]);
    const error = await refusal(client({ fetch: api.fetch }).balance());
    expect(error).to.include({ status: 0, code: 'no_token' });
    expect(api.sent).to.deep.equal([]);
  });

  it('reads the host token again after resetToken', async () => {
    const api = fakeApi(['a', 'b']);
    let token = 'a';
    const c = client({ token: () => token, fetch: api.fetch });
    await c.balance();
    token = 'b';
    await c.balance();
    c.resetToken();
    await c.balance();
    expect(api.sent).to.deep.equal(['Bearer a', 'Bearer a', 'Bearer b']);
  });
});
