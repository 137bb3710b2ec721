import { aTimeout, expect } from '@open-wc/testing';
import type { MinuteTopup } from '../../widget/index.js';
import { mount, part, ready, viewText, waitUntil } from './helpers.js';
import type { TestApi } from './test-api.js';

describe('loading and failure states', () => {
  it('fetches catalog, balance, packages, advice and auto top-up in one parallel round', async () => {
    const { api } = await mount({}, (a) => (a.delayMs = 100));
    expect(api.maxInFlight).to.equal(5);
    const round = api.requests.slice(0, 5);
    expect(round.map((r) => r.path).sort()).to.deep.equal([
      '/accounts/acc_1/auto-topup',
      '/accounts/acc_1/balance',
      '/accounts/acc_1/purchases',
      '/accounts/acc_1/recommendation',
      '/catalog',
    ]);
    // Then, once loaded, only the live balance stream.
    await waitUntil(() => api.requests.length > 5, 'the live stream opens', { timeout: 10_000 });
    expect(api.requests.slice(5).map((r) => r.path)).to.deep.equal(['/accounts/acc_1/events']);
  });

  it('shows a server error with Retry, and recovers', async () => {
    const errors: string[] = [];
    const { el, api } = await mount(
      { ready: false, on: { 'minute-topup-error': (e) => errors.push(e.detail.code) } },
      (a) => (a.status = 500),
    );
    await waitUntil(() => viewText(el, 'card').includes('Something went wrong on our side'));
    expect(part(el, 'card', 'error').getAttribute('role')).to.equal('alert');
    expect(errors).to.deep.equal(['internal_error']);
    api.status = 0;
    part(el, 'card', 'retry-button').click();
    await ready(el);
    expect(errors).to.have.length(1);
  });

  it('shows an unreachable API with Retry', async () => {
    const { el, api } = await mount({ ready: false }, (a) => (a.offline = true));
    await waitUntil(() => viewText(el, 'card').includes('cannot be reached'));
    api.offline = false;
    part(el, 'card', 'retry-button').click();
    await ready(el);
  });

  it('asks fetchToken once for a new token when the token expired, and retries', async () => {
    let calls = 0;
    const { el, api } = await mount({
      ready: false,
      attrs: { token: 'expired-token' },
      props: { fetchToken: async () => (calls++, api.token) },
    });
    await ready(el);
    expect(calls).to.equal(1);
    expect(api.requests.filter((r) => r.auth === 'Bearer expired-token').length).to.be.greaterThan(
      0,
    );
  });

  it('shows an error after one refresh that still gets 401', async () => {
    let calls = 0;
    const { el } = await mount({
      ready: false,
      attrs: { token: null },
      props: { fetchToken: async () => (calls++, 'still-bad') },
    });
    await waitUntil(() => viewText(el, 'card').includes('session has expired'));
    expect(calls).to.equal(2);
  });

  it('uses a token set after the first one was refused, and loads again', async () => {
    const { el, api } = await mount({ ready: false, attrs: { token: 'expired-token' } });
    await waitUntil(() => viewText(el, 'card').includes('session has expired'));
    // The README's recipe: `document.querySelector('minute-topup').token = await mocks.token(…)`.
    el.token = api.token;
    await ready(el);
    expect(api.requests.at(-1)!.auth).to.equal(`Bearer ${api.token}`);
  });

  it('uses a token set while a load with a refused one is under way', async () => {
    const { el, api } = await mount({ ready: false, attrs: { token: 'expired-token' } }, (a) => {
      a.delayMs = 150;
    });
    el.token = api.token;
    await ready(el);
    // The first load's 401s arrive too, and must not replace what the second one showed.
    await waitUntil(() => api.inFlight === 0);
    await aTimeout(100);
    expect(viewText(el, 'card')).to.contain('Extra balance').and.not.contain('expired');
  });

  for (const [how, source] of [
    ['token', (el: MinuteTopup, api: TestApi) => (el.token = api.token)],
    ['fetchToken', (el: MinuteTopup, api: TestApi) => (el.fetchToken = async () => api.token)],
  ] as const) {
    it(`sends nothing until it has a ${how}, then loads with it`, async () => {
      // The README's order: `account-id` in the HTML, the token source set a moment later.
      const { el, api } = await mount({ ready: false, attrs: { token: null } });
      await aTimeout(100);
      expect(api.requests).to.deep.equal([]);
      expect(part(el, 'card', 'card').getAttribute('aria-busy')).to.equal('true');
      await el.reload();
      expect(api.requests).to.deep.equal([]);
      source(el, api);
      await ready(el);
      const unsigned = api.requests.filter((r) => r.path !== '/catalog' && !r.auth);
      expect(unsigned).to.deep.equal([]);
      // The load's round (the live stream follows it).
      expect(api.requests.filter((r) => !r.path.endsWith('/events'))).to.have.length(5);
    });
  }

  for (const [what, fetchToken, message] of [
    ['returns no token', async () => undefined, 'fetchToken returned no token'],
    [
      'fails',
      async () => {
        throw new Error('backend down');
      },
      'fetchToken failed: backend down',
    ],
  ] as const) {
    it(`says it could not sign in when fetchToken ${what}, and asks again on Retry`, async () => {
      // A host backend passing a 404 body on: `(await res.json()).token` is undefined.
      let calls = 0;
      let token: () => Promise<string | undefined> = fetchToken;
      const errors: { code: string; message: string }[] = [];
      const { el, api } = await mount({
        ready: false,
        attrs: { token: null },
        props: { fetchToken: () => (calls++, token()) as Promise<string> },
        on: { 'minute-topup-error': (e) => errors.push(e.detail) },
      });
      await waitUntil(() =>
        viewText(el, 'card').includes('Could not sign in to the minutes service.'),
      );
      expect(viewText(el, 'card')).not.to.contain('expired');
      expect(errors).to.deep.equal([{ code: 'no_token', message }]);
      expect(calls).to.equal(1);
      expect(api.requests.filter((r) => r.path !== '/catalog')).to.deep.equal([]);
      token = async () => api.token;
      part(el, 'card', 'retry-button').click();
      await ready(el);
      expect(calls).to.equal(2);
    });
  }

  it('says when the account does not exist', async () => {
    const { el, api } = await mount({ ready: false, attrs: { 'account-id': 'nobody' } });
    el.setAttribute('token', api.real.secretKey);
    await el.reload();
    await waitUntil(() => viewText(el, 'card').includes('could not be found'));
    expect(
      el
        .shadowRoot!.querySelector('minute-topup-card')!
        .shadowRoot!.querySelector('[part=retry-button]'),
    ).to.equal(null);
  });
});
