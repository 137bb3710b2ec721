import { expect } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { HttpResponse } from 'msw';
import type { AuthenticateEventDetail } from '../../widget/index.js';
import {
  checkedId,
  deepActive,
  dialogOf,
  mount,
  openDialog,
  part,
  purchase,
  radios,
  shadow,
  text,
  viewText,
  waitUntil,
} from './helpers.js';
import type { LoggedRequest, TestApi } from './test-api.js';

const BANK = 'Your bank needs to confirm this payment.';
const PROCESSING = 'Your payment is being processed. The minutes are added once it completes.';
const CONFIRMING = 'Confirming with your bank…';

const confirmButton = (el: Element) => part(el, 'dialog', 'confirm-button');
const dialogRoot = (el: Element) => shadow(el, 'minute-topup-dialog').shadowRoot!;
const retryButton = (el: Element) =>
  dialogRoot(el).querySelector<HTMLButtonElement>('[part~=retry-button]');
/** The dialog's polite status message. */
const status = (el: Element) => text(dialogRoot(el).querySelector('[role=status]')!);
const posts = (api: TestApi) => api.requests.filter((r) => r.method === 'POST');

/** Answers the first purchase request with `response` (the API never sees it); the rest reach the API. */
function answerFirstPurchase(api: TestApi, response: () => Response) {
  let answered = false;
  api.script = (request: LoggedRequest) => {
    if (request.method !== 'POST' || answered) return undefined;
    answered = true;
    return response();
  };
}

const processing = () =>
  HttpResponse.json({ purchase: purchase('pending'), clientSecret: null }, { status: 202 });
const refusal = (status: number, code: string) =>
  HttpResponse.json({ error: { code, message: code } }, { status });

describe('a payment that waits for the bank or the processor', () => {
  it("runs the host's authenticate, shows it confirms with the bank, and completes under the same key", async () => {
    const secrets: string[] = [];
    let finish: () => void = () => {};
    const purchases: CustomEvent[] = [];
    const asked: CustomEvent[] = [];
    const { el, api } = await mount({
      on: {
        'minute-topup-purchase': (e) => purchases.push(e),
        'minute-topup-authenticate': (e) => asked.push(e),
      },
    });
    el.authenticate = (clientSecret) => {
      secrets.push(clientSecret);
      return new Promise<void>((resolve) => (finish = resolve));
    };
    api.requiresAction = true;
    const opener = await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => secrets.length === 1, 'authenticate was not called');
    expect(secrets[0]).to.match(/_secret$/);
    await waitUntil(() => status(el) === CONFIRMING, `status: ${status(el)}`);
    expect(text(confirmButton(el))).to.equal(CONFIRMING);
    expect(confirmButton(el).getAttribute('aria-disabled')).to.equal('true');
    // The customer confirms with the bank (Stripe.js would, in the host's authenticate).
    api.real.authenticate(secrets[0]);
    finish();
    await waitUntil(() => !dialogOf(el).open, 'the purchase did not complete');
    expect(deepActive()).to.equal(opener);
    expect(text(part(el, 'card', 'extra'))).to.equal('100 min');
    const [first, second] = posts(api);
    expect(posts(api)).to.have.length(2);
    expect(second.key).to.equal(first.key);
    expect(api.charges).to.equal(1);
    expect(purchases).to.have.length(1);
    expect(purchases[0].detail.purchase.status).to.equal('active');
    expect(asked).to.deep.equal([]);
  });

  it('waits for the bank when authenticate rejects, and Try again asks under the same key', async () => {
    const secrets: string[] = [];
    const { el, api } = await mount();
    let authenticated = false;
    el.authenticate = async (clientSecret) => {
      secrets.push(clientSecret);
      if (!authenticated) throw new Error('The customer closed the bank window');
      api.real.authenticate(clientSecret);
    };
    api.requiresAction = true;
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => status(el) === BANK, `status: ${status(el)}`);
    expect(text(retryButton(el)!)).to.equal('Try again');
    expect(posts(api)).to.have.length(1);
    expect(radios(el).every((r) => r.matches(':disabled'))).to.equal(true);
    authenticated = true;
    retryButton(el)!.click();
    await waitUntil(() => !dialogOf(el).open, 'Try again did not complete the purchase');
    expect(secrets).to.have.length(2);
    expect(new Set(posts(api).map((r) => r.key)).size).to.equal(1);
    expect(api.charges).to.equal(1);
    expect(text(part(el, 'card', 'extra'))).to.equal('100 min');
  });

  it('tells the host without authenticate, keeps the state across closing, and Try again completes it once', async () => {
    const asked: CustomEvent<AuthenticateEventDetail>[] = [];
    const purchases: CustomEvent[] = [];
    const { el, api } = await mount({
      on: {
        'minute-topup-authenticate': (e) => asked.push(e),
        'minute-topup-purchase': (e) => purchases.push(e),
      },
    });
    api.requiresAction = true;
    await openDialog(el);
    radios(el)[2].click();
    await waitUntil(() => checkedId(el) === 'large');
    confirmButton(el).click();
    await waitUntil(() => asked.length === 1, 'minute-topup-authenticate did not fire');
    const [event] = asked;
    expect(event.bubbles && event.composed).to.equal(true);
    expect(event.detail.clientSecret).to.match(/_secret$/);
    expect(event.detail.purchase).to.include({ packageId: 'large', status: 'requires_action' });
    await waitUntil(() => status(el) === BANK, `status: ${status(el)}`);
    expect(dialogRoot(el).querySelector('[role=status]')!.closest('[part~=notice]')).to.exist;
    expect(text(part(el, 'card', 'extra'))).to.equal('0 min');
    // Closing and reopening keeps it: the same package, locked, still waiting.
    part(el, 'dialog', 'cancel-button').click();
    await waitUntil(() => !dialogOf(el).open);
    await openDialog(el);
    expect(checkedId(el)).to.equal('large');
    expect(status(el)).to.equal(BANK);
    expect(radios(el).every((r) => r.matches(':disabled'))).to.equal(true);
    // The host ran the bank's check with the client secret.
    api.real.authenticate(event.detail.clientSecret);
    retryButton(el)!.click();
    await waitUntil(() => !dialogOf(el).open, 'Try again did not complete the purchase');
    expect(text(part(el, 'card', 'extra'))).to.equal('250 min');
    expect(posts(api)).to.have.length(2);
    expect(posts(api)[1].key).to.equal(posts(api)[0].key);
    expect(api.charges).to.equal(1);
    expect(purchases).to.have.length(1);
    expect(asked).to.have.length(1);
  });

  it('says the payment was declined when the customer fails the bank check', async () => {
    const asked: CustomEvent<AuthenticateEventDetail>[] = [];
    const { el, api } = await mount({ on: { 'minute-topup-authenticate': (e) => asked.push(e) } });
    api.requiresAction = true;
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => asked.length === 1 && status(el) === BANK);
    api.real.authenticate(asked[0].detail.clientSecret, false);
    retryButton(el)!.click();
    await waitUntil(() => viewText(el, 'dialog').includes('payment was declined'), 'no decline');
    expect(part(el, 'dialog', 'error').getAttribute('role')).to.equal('alert');
    expect(status(el)).to.equal('');
    // A definite answer: the package may change again.
    expect(radios(el).some((r) => r.matches(':disabled'))).to.equal(false);
    expect(api.charges).to.equal(0);
    expect(text(part(el, 'card', 'extra'))).to.equal('0 min');
  });

  it('brings focus back to Try again when the bank still waits after it', async () => {
    const { el, api } = await mount();
    api.requiresAction = true;
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => status(el) === BANK);
    retryButton(el)!.focus();
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => posts(api).length === 2, 'Enter did not retry');
    await waitUntil(
      () => status(el) === BANK && deepActive() === retryButton(el),
      `focus on ${deepActive()?.outerHTML}`,
    );
    expect(posts(api)[1].key).to.equal(posts(api)[0].key);
  });

  it('says a payment is being processed, and Check again completes it under the same key', async () => {
    const asked: CustomEvent[] = [];
    const { el, api } = await mount({ on: { 'minute-topup-authenticate': (e) => asked.push(e) } });
    let authentications = 0;
    el.authenticate = async () => void authentications++;
    answerFirstPurchase(api, processing);
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => status(el) === PROCESSING, `status: ${status(el)}`);
    expect(text(retryButton(el)!)).to.equal('Check again');
    expect(authentications).to.equal(0);
    expect(asked).to.deep.equal([]);
    expect(radios(el).every((r) => r.matches(':disabled'))).to.equal(true);
    retryButton(el)!.click();
    await waitUntil(() => !dialogOf(el).open, 'Check again did not complete the purchase');
    expect(posts(api)[1].key).to.equal(posts(api)[0].key);
    expect(api.charges).to.equal(1);
  });

  it('says there is no payment method on file; nothing was charged, so the package may change', async () => {
    const errors: string[] = [];
    const { el, api } = await mount({
      on: { 'minute-topup-error': (e) => errors.push(e.detail.code) },
    });
    answerFirstPurchase(api, () => refusal(402, 'payment_method_required'));
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => !!dialogRoot(el).querySelector('[part=error]'));
    expect(text(part(el, 'dialog', 'error'))).to.equal(
      'There is no payment method on file. Add a card to your account, then try again. Nothing was charged. Try again',
    );
    expect(errors).to.deep.equal(['payment_method_required']);
    expect(radios(el).some((r) => r.matches(':disabled'))).to.equal(false);
    part(el, 'dialog', 'cancel-button').click();
    await waitUntil(() => !dialogOf(el).open);
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => !dialogOf(el).open, 'the purchase did not complete');
    expect(posts(api)[1].key).not.to.equal(posts(api)[0].key);
  });

  it('says the payment service cannot be reached, and keeps the key: it may have been charged', async () => {
    const { el, api } = await mount();
    answerFirstPurchase(api, () => refusal(502, 'payment_unavailable'));
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => viewText(el, 'dialog').includes('payment service cannot be reached'));
    expect(text(part(el, 'dialog', 'error'))).to.contain('you will not be charged twice');
    expect(radios(el).every((r) => r.matches(':disabled'))).to.equal(true);
    part(el, 'dialog', 'retry-button').click();
    await waitUntil(() => !dialogOf(el).open, 'Try again did not complete the purchase');
    expect(posts(api)[1].key).to.equal(posts(api)[0].key);
    expect(api.charges).to.equal(1);
  });

  it('lists a purchase waiting for the bank in the history, counted nowhere', async () => {
    const { el, api } = await mount({ packages: ['small'] });
    api.requiresAction = true;
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => status(el) === BANK);
    part(el, 'dialog', 'cancel-button').click();
    await waitUntil(() => !dialogOf(el).open);
    part(el, 'card', 'view-button').click();
    await waitUntil(() => dialogOf(el, 'history').open);
    const rows = [...shadow(el, 'minute-topup-history').shadowRoot!.querySelectorAll('tbody tr')];
    expect(rows.map((row) => [text(row.children[0]), text(row.children[5])])).to.deep.equal([
      ['Medium', 'Awaiting bank confirmation'],
      ['Small', 'Active'],
    ]);
    expect(text(part(el, 'history', 'total'))).to.equal('Total remaining: 50 min');
    expect(text(part(el, 'card', 'extra'))).to.equal('50 min');
    expect(viewText(el, 'card')).to.contain('1 active package');
  });

  describe('is accessible', () => {
    it('while it confirms with the bank', async () => {
      const { el, api } = await mount();
      el.authenticate = () => new Promise<void>(() => {});
      api.requiresAction = true;
      await openDialog(el);
      confirmButton(el).click();
      await waitUntil(() => status(el) === CONFIRMING);
      await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
    });

    it('while the bank waits', async () => {
      const { el, api } = await mount();
      api.requiresAction = true;
      await openDialog(el);
      confirmButton(el).click();
      await waitUntil(() => status(el) === BANK);
      await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
    });

    it('while the processor works', async () => {
      const { el, api } = await mount();
      answerFirstPurchase(api, processing);
      await openDialog(el);
      confirmButton(el).click();
      await waitUntil(() => status(el) === PROCESSING);
      await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
    });

    for (const [code, statusCode] of [
      ['payment_method_required', 402],
      ['payment_unavailable', 502],
    ] as const) {
      it(`with ${code}`, async () => {
        const { el, api } = await mount();
        answerFirstPurchase(api, () => refusal(statusCode, code));
        await openDialog(el);
        confirmButton(el).click();
        await waitUntil(() => !!dialogRoot(el).querySelector('[part=error]'));
        await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
      });
    }
  });

  it('takes every new text from strings', async () => {
    const { el, api } = await mount({
      props: {
        strings: {
          bankNeedsConfirmation: 'Bitte bestätigen Sie die Zahlung bei Ihrer Bank.',
          retry: 'Erneut versuchen',
        },
      },
    });
    api.requiresAction = true;
    await openDialog(el);
    confirmButton(el).click();
    await waitUntil(() => status(el) === 'Bitte bestätigen Sie die Zahlung bei Ihrer Bank.');
    expect(text(retryButton(el)!)).to.equal('Erneut versuchen');
  });
});
