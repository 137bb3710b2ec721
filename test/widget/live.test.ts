import { expect, fixture, html } from '@open-wc/testing';
import { HttpResponse } from 'msw';
import type { BalanceDto } from '../../contract/index.js';
import { balanceEvent } from '../../server/live/stream.js';
import type { MinuteTopup } from '../../widget/index.js';
import { mount, openHistory, text, viewText, waitUntil } from './helpers.js';
import { ACCOUNT, type LoggedRequest, type TestApi } from './test-api.js';

/** Plenty for a reconnection (1–2 s, then 2–4 s) on a loaded machine. */
const LONG = { timeout: 20_000 };

const streamRequests = (api: TestApi) => api.requests.filter((r) => r.path.endsWith('/events'));
const balanceReads = (api: TestApi) => api.requests.filter((r) => r.path.endsWith('/balance'));
/** The polite region that announces a change of warning level. */
const warningStatus = (el: MinuteTopup) => el.shadowRoot!.querySelector('#warning-status')!;
const streaming = (api: TestApi) =>
  waitUntil(() => api.streams === 1, 'no live stream opened', LONG);
/** Minutes of calls recorded by the voice platform, as the host's backend would. */
const call = (api: TestApi, minutes: number) => api.real.recordUsage(ACCOUNT, minutes * 60);

/** A page hidden (another tab) or shown again, as the browser tells it. */
let hidden = false;
function setHidden(value: boolean) {
  hidden = value;
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('live balance', () => {
  before(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  });
  after(() => {
    Reflect.deleteProperty(document, 'hidden');
  });
  afterEach(() => {
    hidden = false;
  });

  it('follows calls as they happen: card, banner and a polite announcement, no reload', async () => {
    const { el, api } = await mount({ usedMinutes: 300 });
    await streaming(api);
    const [stream] = streamRequests(api);
    // It goes on from the balance it loaded: the stream does not send it again.
    expect(stream.lastEventId).to.equal(String((await api.balance()).version));
    expect(stream.auth).to.equal(`Bearer ${api.token}`);
    expect(text(warningStatus(el))).to.equal('');

    await call(api, 160);
    await waitUntil(() => viewText(el, 'card').includes('460 of 500 min used'));
    expect(viewText(el, 'banner')).to.contain('running low');
    expect(warningStatus(el).getAttribute('role')).to.equal('status');
    expect(warningStatus(el).getAttribute('aria-live')).to.equal('polite');
    expect(text(warningStatus(el))).to.equal('You are now running low on minutes.');

    await call(api, 60);
    await waitUntil(() => viewText(el, 'card').includes('Overage this cycle: 20 min'));
    expect(viewText(el, 'banner')).to.contain('out of minutes');
    expect(text(warningStatus(el))).to.equal(
      'You are out of minutes. Further calls are billed as overage.',
    );
    expect(balanceReads(api)).to.have.length(1);
    expect(streamRequests(api)).to.have.length(1);
    await expect(el).to.be.accessible();
  });

  it('says a change of warning level in the host’s words', async () => {
    const { el, api } = await mount({
      usedMinutes: 300,
      props: { strings: { warningChanged: (level) => `Niveau: ${level}` } },
    });
    await streaming(api);
    await call(api, 160);
    await waitUntil(() => text(warningStatus(el)) === 'Niveau: low');
  });

  it('shows no balance older than the one shown', async () => {
    let scripted = false;
    let loaded: BalanceDto | undefined;
    /** A balance `versionsAhead` of the loaded one, with `usedMinutes` of the plan used. */
    const event = (usedMinutes: number, versionsAhead: number) =>
      balanceEvent({
        ...loaded!,
        plan: { ...loaded!.plan, usedSeconds: usedMinutes * 60 },
        version: loaded!.version + versionsAhead,
      });
    const { el, api } = await mount({ usedMinutes: 100 }, (a) => {
      a.script = (request) => {
        if (scripted || !request.path.endsWith('/events')) return undefined;
        scripted = true;
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            loaded = await a.balance();
            // Newer (400 min used), then older (200), in one chunk: read at once.
            controller.enqueue(new TextEncoder().encode(event(400, 2) + event(200, 1)));
            controller.close();
          },
        });
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
      };
    });
    await waitUntil(() => /[24]00 of 500 min used/.test(viewText(el, 'card')), 'no event shown');
    expect(viewText(el, 'card')).to.contain('400 of 500 min used');
    // That stream ended: the next one goes on from the newest version shown.
    await waitUntil(() => streamRequests(api).length === 2, 'did not reconnect', LONG);
    expect(streamRequests(api)[1].lastEventId).to.equal(String(loaded!.version + 2));
  });

  it('fetches the open history again when a call draws on a package', async () => {
    const { el, api } = await mount({ usedMinutes: 500, packages: ['medium'] });
    await streaming(api);
    await openHistory(el);
    const history = () => viewText(el, 'history');
    expect(history()).to.contain('Total remaining: 100 min');
    await call(api, 30);
    await waitUntil(() => /Medium.*70 min.*Active/.test(history()), history());
    expect(history()).to.contain('Total remaining: 70 min');
    expect(viewText(el, 'card')).to.contain('Extra balance: 70 min');
  });

  it('opens no stream with live="off", and one once live is set', async () => {
    const { el, api } = await mount({ usedMinutes: 300, attrs: { live: 'off' } });
    expect(el.live).to.equal(false);
    await call(api, 100);
    await el.reload();
    await waitUntil(() => viewText(el, 'card').includes('400 of 500 min used'));
    expect(streamRequests(api)).to.deep.equal([]);
    el.live = true;
    await streaming(api);
    el.setAttribute('live', 'false');
    await waitUntil(() => api.streams === 0, 'the stream stayed open');
    el.removeAttribute('live');
    expect(el.live).to.equal(true);
    await streaming(api);
    // As JSX sets it: the attribute's string, as the property.
    (el as { live: unknown }).live = 'off';
    await waitUntil(() => api.streams === 0, 'live "off" as a property left the stream open');
  });

  it('asks fetchToken for a fresh token after a 401, and streams with it', async () => {
    let fresh = '';
    let refused = 0;
    let testApi: TestApi | undefined;
    const { el, api } = await mount(
      {
        usedMinutes: 300,
        props: { fetchToken: async () => (fresh = await testApi!.real.mintToken(ACCOUNT)) },
      },
      (a) => {
        testApi = a;
        a.script = (request) =>
          request.path.endsWith('/events') && !refused++
            ? HttpResponse.json(
                { error: { code: 'unauthorized', message: 'The token has expired.' } },
                { status: 401 },
              )
            : undefined;
      },
    );
    await streaming(api);
    const [first, second] = streamRequests(api);
    expect(first.auth).to.equal(`Bearer ${api.token}`);
    expect(fresh).not.to.equal('');
    expect(second.auth).to.equal(`Bearer ${fresh}`);
    await call(api, 100);
    await waitUntil(() => viewText(el, 'card').includes('400 of 500 min used'));
  });

  it('reconnects with a fresh token and Last-Event-ID when the stream ends at the token’s expiry', async () => {
    let tokens = 0;
    const { el, api } = await mount({ usedMinutes: 300 });
    el.fetchToken = async () => (tokens++, api.real.mintToken(ACCOUNT));
    // A token that expires in a few seconds: the API ends the stream then.
    const short = await api.real.mintToken(ACCOUNT, 4);
    el.token = short;
    const withShort = () => streamRequests(api).filter((r) => r.auth === `Bearer ${short}`);
    await waitUntil(() => withShort().length > 0, 'no stream with the short token');
    await call(api, 100);
    await waitUntil(() => viewText(el, 'card').includes('400 of 500 min used'));
    const shown = String((await api.balance()).version);
    await waitUntil(() => api.streamsEnded > 0, 'the stream did not end', LONG);
    const fresh = () => streamRequests(api).slice(streamRequests(api).indexOf(withShort()[0]) + 1);
    await waitUntil(
      () => fresh().some((r) => r.auth !== `Bearer ${short}`),
      'did not reconnect with a fresh token',
      LONG,
    );
    await streaming(api);
    expect(tokens).to.equal(1);
    // Every attempt after the end said where it stopped.
    expect(fresh().map((r) => r.lastEventId)).to.satisfy((ids: string[]) =>
      ids.every((id) => id === shown),
    );
    await call(api, 50);
    await waitUntil(() => viewText(el, 'card').includes('450 of 500 min used'));
  });

  it('holds no stream while the page is hidden, and catches up when it is shown', async () => {
    const { el, api } = await mount({ usedMinutes: 300 });
    await streaming(api);
    const before = (await api.balance()).version;
    setHidden(true);
    await waitUntil(() => api.streams === 0, 'the stream stayed open while hidden');
    await call(api, 100);
    expect(viewText(el, 'card')).to.contain('300 of 500 min used');
    expect(streamRequests(api)).to.have.length(1);
    setHidden(false);
    await waitUntil(() => viewText(el, 'card').includes('400 of 500 min used'));
    const [, back] = streamRequests(api);
    expect(back.lastEventId).to.equal(String(before));
    expect(balanceReads(api)).to.have.length(1);
  });

  it('keeps one stream at a time, and none once removed from the page', async () => {
    const signals: AbortSignal[] = [];
    const overlapping: number[] = [];
    const realFetch = window.fetch;
    window.fetch = (input, init) => {
      if (String(input instanceof Request ? input.url : input).endsWith('/events')) {
        if (signals.some((s) => !s.aborted)) overlapping.push(signals.length);
        signals.push(init!.signal!);
      }
      return realFetch(input, init);
    };
    try {
      const { el, api } = await mount({ usedMinutes: 300 });
      await streaming(api);
      for (let i = 0; i < 3; i++) {
        setHidden(true);
        setHidden(false);
      }
      // Another lifetime: a token minted in the same second would be the same token.
      el.token = await api.real.mintToken(ACCOUNT, 1200);
      await el.updateComplete;
      el.live = false;
      await el.updateComplete;
      el.live = true;
      await el.updateComplete;
      await waitUntil(() => signals.length >= 6, 'restarts opened no stream');
      await waitUntil(() => api.streams === 1 && api.inFlight === 0, 'not one stream', LONG);
      expect(overlapping).to.deep.equal([]);
      el.remove();
      await waitUntil(() => api.streams === 0, 'the stream outlived the element');
      expect(signals.every((s) => s.aborted)).to.equal(true);
    } finally {
      window.fetch = realFetch;
    }
  });

  it('reconnects after a failed stream, with backoff', async () => {
    const { el, api } = await mount({ usedMinutes: 300 }, (a) => (a.failing = ['GET /events']));
    await waitUntil(() => streamRequests(api).length >= 2, 'did not try again', LONG);
    api.failing = [];
    await streaming(api);
    await call(api, 100);
    await waitUntil(() => viewText(el, 'card').includes('400 of 500 min used'));
  });

  it('follows each of two widgets on one page, one stream each', async () => {
    const { el, api } = await mount({ usedMinutes: 300 });
    await streaming(api);
    const second = await fixture<MinuteTopup>(
      html`<minute-topup
        api-base=${el.apiBase}
        account-id=${ACCOUNT}
        token=${api.token}
      ></minute-topup>`,
    );
    await waitUntil(() => api.streams === 2, 'the second widget opened no stream', LONG);
    await call(api, 100);
    for (const widget of [el, second])
      await waitUntil(() => viewText(widget, 'card').includes('400 of 500 min used'));
  });
});
