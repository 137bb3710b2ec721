import { expect } from '@open-wc/testing';
import { HttpResponse } from 'msw';
import type { TokenScope } from '../../contract/index.js';
import type { TopupStore } from '../../widget/store.js';
import { tokenScope } from '../../widget/scope.js';
import type { MinuteTopup } from '../../widget/index.js';
import {
  deepActive,
  dialogOf,
  mount,
  openDialog,
  openHistory,
  part,
  press,
  shadow,
  text,
  viewText,
  waitUntil,
} from './helpers.js';
import { ACCOUNT, type TestApi } from './test-api.js';

/** A JWT-shaped token with these claims (unsigned: the widget never verifies). */
const jwt = (claims: unknown) =>
  `eyJhbGciOiJIUzI1NiJ9.${btoa(JSON.stringify(claims)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}.c2ln`;

const buyButton = (el: Element, view: 'card' | 'banner') =>
  shadow(el, `minute-topup-${view}`).shadowRoot!.querySelector('[part~=buy-button]');
const storeOf = (el: MinuteTopup) => (el as unknown as { store: TopupStore }).store;

describe('token scope', () => {
  it('reads the scope claim of a JWT, base64url, without verifying it', () => {
    expect(tokenScope(jwt({ sub: 'a', scope: 'view' }))).to.equal('view');
    expect(tokenScope(jwt({ sub: 'a', scope: 'buy' }))).to.equal('buy');
    // Characters that base64url spells `-` and `_`.
    const urlSafe = jwt({ sub: '~~~?>>?', scope: 'view' });
    expect(urlSafe.split('.')[1]).to.match(/[-_]/);
    expect(tokenScope(urlSafe)).to.equal('view');
  });

  it('counts anything unreadable as buy (the API decides)', () => {
    for (const token of [
      jwt({ sub: 'a' }),
      jwt({ scope: 'admin' }),
      jwt(null),
      jwt('view'),
      'eyJhbGciOiJIUzI1NiJ9.not base64!.sig',
      'eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig',
      'opaque-token',
      '',
    ]) {
      expect(tokenScope(token), token).to.equal('buy');
    }
  });
});

describe('view-only mode', () => {
  it('shows no buy controls on card and banner with a view token; balance and history stay', async () => {
    const { el } = await mount({
      scope: 'view',
      usedMinutes: 450,
      packages: ['small'],
      recommendation: {},
    });
    expect(el.scope).to.equal('view');
    expect(buyButton(el, 'card')).to.equal(null);
    expect(buyButton(el, 'banner')).to.equal(null);
    expect(viewText(el, 'banner')).to.equal('You are running low on minutes.');
    expect(text(part(el, 'card', 'extra'))).to.equal('50 min');
    // Nothing else that spends: no upgrade advice either.
    expect(viewText(el, 'card')).not.to.contain('Upgrade');
    expect(viewText(el, 'card')).not.to.contain('Buy');
    await openHistory(el);
    await waitUntil(() => viewText(el, 'history').includes('Small'));
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
    await expect(shadow(el, 'minute-topup-banner')).to.be.accessible();
  });

  it('shows the buy controls with a buy token', async () => {
    const { el } = await mount({ usedMinutes: 450 });
    expect(el.scope).to.equal('buy');
    expect(text(buyButton(el, 'card')!)).to.equal('Buy more minutes');
    expect(text(buyButton(el, 'banner')!)).to.equal('Buy more minutes');
  });

  it('does not open the purchase dialog', async () => {
    const { el, api } = await mount({ scope: 'view' });
    storeOf(el).openDialog();
    await el.updateComplete;
    expect(storeOf(el).snapshot.dialogOpen).to.equal(false);
    expect(dialogOf(el).open).to.equal(false);
    expect(api.requests.filter((r) => r.method === 'POST')).to.have.length(0);
  });

  it('follows a new token: buy controls come and go with its scope', async () => {
    const { el, api } = await mount({ scope: 'view', usedMinutes: 450 });
    el.token = await api.real.mintToken(ACCOUNT);
    await waitUntil(() => buyButton(el, 'card') && buyButton(el, 'banner'), 'no buy controls');
    expect(el.scope).to.equal('buy');
    el.token = await api.real.mintToken(ACCOUNT, undefined, 'view');
    await waitUntil(() => !buyButton(el, 'card') && !buyButton(el, 'banner'), 'buy controls stay');
    expect(el.scope).to.equal('view');
  });

  it('follows the token fetchToken gives after a 401', async () => {
    let mocks: TestApi | undefined;
    let scope: TokenScope = 'view';
    let refuse = false;
    const { el } = await mount(
      {
        attrs: { token: null },
        props: { fetchToken: () => mocks!.real.mintToken(ACCOUNT, undefined, scope) },
      },
      (api) => {
        mocks = api;
        // One balance read refused as expired: the client asks fetchToken again.
        api.script = (request) => {
          if (!refuse || !request.path.endsWith('/balance')) return undefined;
          refuse = false;
          return HttpResponse.json(
            { error: { code: 'unauthorized', message: 'expired' } },
            { status: 401 },
          );
        };
      },
    );
    expect(el.scope).to.equal('view');
    expect(buyButton(el, 'card')).to.equal(null);
    scope = 'buy';
    refuse = true;
    await el.reload();
    await waitUntil(() => buyButton(el, 'card'), 'no buy controls with the fresh buy token');
    expect(el.scope).to.equal('buy');
  });

  it('closes an open dialog when the token turns view-only; focus goes to View packages', async () => {
    const { el, api } = await mount();
    await openDialog(el);
    el.token = await api.real.mintToken(ACCOUNT, undefined, 'view');
    await waitUntil(() => !dialogOf(el).open, 'the dialog stayed open');
    await waitUntil(() => deepActive() === part(el, 'card', 'view-button'), 'focus was lost');
    expect(buyButton(el, 'card')).to.equal(null);
  });

  it('says clearly that a purchase a view-only token cannot make is not allowed, without Try again', async () => {
    const errors: CustomEvent[] = [];
    const { el, api } = await mount({ on: { 'minute-topup-error': (e) => errors.push(e) } });
    // The token ran out: the fresh one fetchToken gives may only view.
    const view = await api.real.mintToken(ACCOUNT, undefined, 'view');
    el.fetchToken = async () => view;
    let expired = false;
    api.script = (request) => {
      if (request.method !== 'POST' || expired) return undefined;
      expired = true;
      return HttpResponse.json(
        { error: { code: 'unauthorized', message: 'expired' } },
        { status: 401 },
      );
    };
    await openDialog(el);
    press(part(el, 'dialog', 'confirm-button'));
    const dialog = shadow(el, 'minute-topup-dialog').shadowRoot!;
    await waitUntil(() => dialog.querySelector('[part~=error]'), 'no error shown');
    expect(text(dialog.querySelector('[part~=error]')!)).to.equal(
      'You do not have permission to do this. Ask the account’s owner.',
    );
    expect(dialog.querySelector('[part~=retry-button]')).to.equal(null);
    expect(errors.map((e) => e.detail.code)).to.deep.equal(['forbidden']);
    expect(api.charges).to.equal(0);
    // The purchase is not sent again with the view token (the API would refuse
    // it: 403); the widget follows that token.
    expect(api.requests.filter((r) => r.method === 'POST').map((r) => r.auth)).to.deep.equal([
      `Bearer ${api.token}`,
    ]);
    expect(el.scope).to.equal('view');
    expect(buyButton(el, 'card')).to.equal(null);
    await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
  });
});
