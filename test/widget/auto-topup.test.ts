import { expect } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { HttpResponse } from 'msw';
import type { AutoTopupDto } from '../../contract/index.js';
import type { MinuteTopup } from '../../widget/index.js';
import type { TopupStore } from '../../widget/store.js';
import {
  deepActive,
  dialogOf,
  mount,
  part,
  press,
  shadow,
  text,
  viewText,
  waitUntil,
} from './helpers.js';
import { ACCOUNT, type TestApi } from './test-api.js';

const card = (el: Element) => shadow(el, 'minute-topup-card').shadowRoot!;
const banner = (el: Element) => shadow(el, 'minute-topup-banner').shadowRoot!;
const row = (el: Element) => text(part(el, 'card', 'auto-topup'));
const editor = (el: Element) =>
  card(el).querySelector<HTMLFormElement>('[part~=auto-topup-editor]');
const field = (el: Element, id: string) => card(el).querySelector<HTMLInputElement>(`#${id}`)!;
/** The polite region that says what a save made of auto top-up, or that it paused. */
const statusRegion = (el: MinuteTopup) => el.shadowRoot!.querySelector('#auto-topup-status')!;
const status = (el: MinuteTopup) => text(statusRegion(el));
const storeOf = (el: MinuteTopup) => (el as unknown as { store: TopupStore }).store;
const select = (el: Element) => card(el).querySelector<HTMLSelectElement>('#at-package')!;
const puts = (api: TestApi) => api.requests.filter((r) => r.method === 'PUT');
const ON = { enabled: true, thresholdMinutes: 30, packageId: 'medium', monthlyLimit: 3 };
/** On, with a threshold over the plan's 500 minutes: any call triggers it (`autoTopupPaused`). */
const EAGER = { ...ON, thresholdMinutes: 600 };
/*
 * Elements are compared by identity, never handed to chai: a failure would
 * serialise the element, with the whole widget behind it, for the report.
 */
/** Whether `root` holds `selector`. */
const has = (root: ParentNode, selector: string) => root.querySelector(selector) !== null;
/** Asserts the focus is on `element` (named by its id or part). */
const expectFocus = (element: Element) =>
  expect(
    deepActive() === element,
    `focus on ${element.id || element.getAttribute('part')}`,
  ).to.equal(true);
/** Plenty for the live stream to bring a change on a loaded machine. */
const LONG = { timeout: 20_000 };
/** The widget's token lost its first PUT to expiry (401), and `fetchToken` then gives `token`. */
function expireOnPut(el: MinuteTopup, api: TestApi, token: string) {
  el.fetchToken = async () => token;
  let expired = false;
  api.script = (request) => {
    if (request.method !== 'PUT' || expired) return undefined;
    expired = true;
    return HttpResponse.json(
      { error: { code: 'unauthorized', message: 'expired' } },
      { status: 401 },
    );
  };
}
/** Answers the reads of auto top-up with `settings` while `when()` holds; the API answers the rest. */
function readsAnswer(api: TestApi, settings: AutoTopupDto, when = () => true) {
  api.script = (request) =>
    request.method === 'GET' && request.path.endsWith('/auto-topup') && when()
      ? HttpResponse.json(settings)
      : undefined;
}

/** Opens the editor from Change, as a pointer would; resolves with Change. */
async function openEditor(el: Element) {
  const change = part(el, 'card', 'auto-topup-button');
  press(change);
  await waitUntil(() => editor(el), 'the editor did not open');
  return change;
}

/** Clears the focused input and types `value`, with keys alone. */
async function retype(value: string) {
  await sendKeys({ down: 'Control' });
  await sendKeys({ press: 'a' });
  await sendKeys({ up: 'Control' });
  await sendKeys({ press: 'Backspace' });
  await sendKeys({ type: value });
}

describe('auto top-up on the card', () => {
  it('shows it off for an account that never set it, with Change', async () => {
    const { el } = await mount();
    expect(row(el)).to.equal('Auto top-up: Off Change');
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
  });

  it('shows what it buys, when, and how many of the month’s purchases were made', async () => {
    const { el } = await mount({ autoTopup: ON });
    expect(row(el)).to.equal(
      'Auto top-up: On Change Buys Medium (100 min) when 30 min are left · up to 3 a month (0 used)',
    );
    const change = part(el, 'card', 'auto-topup-button');
    // Named "Change", described by the row it changes.
    expect(card(el).getElementById(change.getAttribute('aria-describedby')!)!.textContent).to.match(
      /Auto top-up:\s+On/,
    );
  });

  it('counts the auto purchases of this cycle as they happen', async () => {
    const { el, api } = await mount({
      usedMinutes: 400,
      autoTopup: { ...ON, packageId: 'small', thresholdMinutes: 90 },
    });
    await waitUntil(() => api.streams === 1, 'no live stream', LONG);
    await api.real.recordUsage(ACCOUNT, 20 * 60);
    await waitUntil(() => row(el).includes('(1 used)'), `still "${row(el)}"`, LONG);
    expect(row(el)).to.contain('Buys Small (50 min) when 90 min are left · up to 3 a month');
    await waitUntil(() => viewText(el, 'card').includes('1 active package'), 'not credited', LONG);
  });

  it('takes the host’s strings and locale', async () => {
    const { el } = await mount({
      autoTopup: { ...ON, thresholdMinutes: 1500 },
      attrs: { locale: 'de-DE' },
      props: {
        strings: {
          autoTopup: 'Automatisch aufladen',
          autoTopupState: (state) => (state === 'on' ? 'An' : 'Aus'),
          autoTopupRule: (name, minutes, threshold, limit, used) =>
            `${name} (${minutes} Min.) unter ${threshold} Min., ${used} von ${limit}`,
          change: 'Ändern',
        },
      },
    });
    expect(row(el)).to.equal(
      'Automatisch aufladen: An Ändern Medium (100 Min.) unter 1.500 Min., 0 von 3',
    );
  });

  it('takes the host’s punctuation: the label’s colon, the package choices’ separators', async () => {
    const { el } = await mount({
      autoTopup: ON,
      attrs: { locale: 'fr-FR' },
      props: {
        strings: {
          labelled: (label) => `${label} :`,
          autoTopupPackage: (name, minutes, price) => `${name} (${minutes} min, ${price})`,
        },
      },
    });
    expect(row(el)).to.match(/^Auto top-up : On Change/);
    expect(viewText(el, 'card')).to.contain('Extra balance : 0 min');
    await openEditor(el);
    expect([...select(el).options].map(text)).to.deep.equal([
      'Small (50 min, 15,00 $US)',
      'Medium (100 min, 25,00 $US)',
      'Large (250 min, 50,00 $US)',
    ]);
  });

  it('is edited with the keyboard alone: saved, announced, told to the host, kept by the API', async () => {
    const events: CustomEvent<AutoTopupDto>[] = [];
    const { el, api } = await mount({
      on: { 'minute-topup-auto-topup-change': (e) => events.push(e) },
    });
    const change = part(el, 'card', 'auto-topup-button');
    change.focus();
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => editor(el), 'Enter did not open the editor');
    // The switch first, off: Space turns it on.
    const toggle = field(el, 'at-enabled');
    await waitUntil(() => deepActive() === toggle, 'focus is not on the switch');
    expect(toggle.getAttribute('role')).to.equal('switch');
    expect(toggle.checked).to.equal(false);
    await sendKeys({ press: 'Space' });
    expect(toggle.checked).to.equal(true);
    await sendKeys({ press: 'Tab' });
    expectFocus(field(el, 'at-threshold'));
    await retype('45');
    await sendKeys({ press: 'Tab' });
    expectFocus(field(el, 'at-package'));
    // Medium (the default) to Large.
    await sendKeys({ press: 'ArrowDown' });
    expect(field(el, 'at-package').value).to.equal('large');
    await sendKeys({ press: 'Tab' });
    expectFocus(field(el, 'at-limit'));
    await retype('5');
    await sendKeys({ press: 'Enter' });

    await waitUntil(() => !editor(el), 'the editor stayed open');
    const saved = await api.autoTopup();
    expect(saved).to.deep.include({
      enabled: true,
      thresholdMinutes: 45,
      packageId: 'large',
      monthlyLimit: 5,
      status: 'active',
    });
    expect(events.map((e) => e.detail)).to.deep.equal([saved]);
    expect(events[0].bubbles && events[0].composed).to.equal(true);
    expect(status(el)).to.equal('Auto top-up is on');
    expect(row(el)).to.contain('Buys Large (250 min) when 45 min are left · up to 5 a month');
    await waitUntil(() => deepActive() === part(el, 'card', 'auto-topup-button'), 'focus lost');
    expect(puts(api)).to.have.length(1);

    // And off again: Escape first drops what was typed.
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => editor(el), 'Enter did not open the editor again');
    await sendKeys({ press: 'Space' });
    await sendKeys({ press: 'Escape' });
    await waitUntil(() => !editor(el), 'Escape did not close the editor');
    await waitUntil(() => deepActive() === part(el, 'card', 'auto-topup-button'), 'focus lost');
    expect(puts(api)).to.have.length(1);
    expect(row(el)).to.contain('Auto top-up: On');
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => editor(el), 'Enter did not open the editor once more');
    await sendKeys({ press: 'Space' });
    // Tab to Save (past the three fields), and Enter.
    for (let i = 0; i < 4; i++) await sendKeys({ press: 'Tab' });
    expectFocus(part(el, 'card', 'save-button'));
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => !editor(el), 'Save did not close the editor');
    expect((await api.autoTopup()).enabled).to.equal(false);
    expect(events.map((e) => e.detail.enabled)).to.deep.equal([true, false]);
    expect(status(el)).to.equal('Auto top-up is off');
    expect(row(el)).to.equal('Auto top-up: Off Change');
  });

  it('passes axe with the editor open, also showing a field’s error', async () => {
    const { el } = await mount({ autoTopup: ON });
    await openEditor(el);
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
    field(el, 'at-limit').value = '0';
    part(el, 'card', 'save-button').click();
    await waitUntil(() => card(el).querySelector('#at-limit-error'));
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
  });

  it('sends nothing while the threshold is invalid, and says why next to it', async () => {
    const { el, api } = await mount({ autoTopup: ON });
    await openEditor(el);
    for (const value of ['0', '', '2.5', '100001']) {
      const threshold = field(el, 'at-threshold');
      threshold.value = value;
      press(part(el, 'card', 'save-button'));
      await waitUntil(() => threshold.getAttribute('aria-invalid') === 'true', value);
      const message = card(el).getElementById(threshold.getAttribute('aria-describedby')!)!;
      expect(text(message), value).to.equal('Enter a whole number from 1 to 100,000.');
      await waitUntil(() => deepActive() === threshold, 'focus is not on the invalid field');
      expect(field(el, 'at-limit').getAttribute('aria-invalid')).to.equal('false');
      expect(field(el, 'at-limit').hasAttribute('aria-describedby')).to.equal(false);
    }
    expect(puts(api)).to.have.length(0);
    expect(!!editor(el), 'the editor stays open').to.equal(true);
    // Put right, it saves.
    field(el, 'at-threshold').value = '100000';
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => !editor(el), 'the editor stayed open');
    expect((await api.autoTopup()).thresholdMinutes).to.equal(100_000);
  });

  it('shows the API’s refusal in the editor, which stays open with what was typed', async () => {
    const errors: CustomEvent[] = [];
    const { el, api } = await mount({ on: { 'minute-topup-error': (e) => errors.push(e) } });
    await openEditor(el);
    api.failing = ['PUT /auto-topup'];
    field(el, 'at-threshold').value = '55';
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => card(el).querySelector('[part~=error]'), 'no error shown');
    expect(text(card(el).querySelector('[part~=error]')!)).to.equal(
      'Something went wrong on our side. Please try again.',
    );
    expect(errors.map((e) => e.detail.code)).to.deep.equal(['internal_error']);
    expect(field(el, 'at-threshold').value).to.equal('55');
    api.failing = [];
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => !editor(el), 'the retry did not save');
    expect((await api.autoTopup()).thresholdMinutes).to.equal(55);
  });
});

describe('auto top-up, changed elsewhere meanwhile', () => {
  it('keeps a save when a live refresh started during it answers after it, with the setting before', async () => {
    const { el, api } = await mount({ autoTopup: ON });
    await waitUntil(() => api.streams === 1, 'no live stream', LONG);
    await openEditor(el);
    field(el, 'at-threshold').value = '45';
    const put = api.hold('PUT /auto-topup');
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => put.waiting === 1, 'the save was not sent');
    // Minutes granted elsewhere: the live balance has the widget read auto top-up
    // again, and the API answers before the save, its answer held until after it.
    const read = api.hold('GET /auto-topup', 'after');
    await api.real.grant(ACCOUNT, 10, 'Goodwill');
    await waitUntil(() => read.waiting === 1, 'no read during the save', LONG);
    put.release();
    await waitUntil(() => !editor(el), 'the save did not close the editor');
    expect(row(el)).to.contain('when 45 min are left');
    /** Every threshold the widget shows once the save is shown. */
    const shown: (number | undefined)[] = [];
    const unsubscribe = storeOf(el).subscribe((s) =>
      shown.push(s.autoTopup.settings?.thresholdMinutes),
    );
    try {
      read.release();
      await waitUntil(() => read.waiting === 0, 'the read was not answered');
      // Then another tab changes the limit: the next live refresh shows it, and
      // nothing before it brought back the threshold from before the save.
      await api.real.setAutoTopup(ACCOUNT, { ...ON, thresholdMinutes: 45, monthlyLimit: 4 });
      await api.real.grant(ACCOUNT, 10, 'Goodwill');
      await waitUntil(() => row(el).includes('up to 4 a month'), `still "${row(el)}"`, LONG);
    } finally {
      unsubscribe();
    }
    expect(shown.filter((threshold) => threshold !== 45)).to.deep.equal([]);
  });

  it('opens the editor on the setting as another tab left it, and keeps what is typed over later reads', async () => {
    const { el, api } = await mount();
    await waitUntil(() => api.streams === 1, 'no live stream', LONG);
    // Another tab turns it on (nothing live says so while it is off here).
    await api.real.setAutoTopup(ACCOUNT, { ...ON, thresholdMinutes: 40 });
    expect(row(el)).to.equal('Auto top-up: Off Change');
    await openEditor(el);
    expect(row(el)).to.contain('Auto top-up: On');
    expect(field(el, 'at-enabled').checked).to.equal(true);
    expect(field(el, 'at-threshold').value).to.equal('40');
    expect(field(el, 'at-limit').value).to.equal('3');
    field(el, 'at-threshold').focus();
    await retype('45');
    // The other tab turns it off with another limit; a live refresh brings that in.
    await api.real.setAutoTopup(ACCOUNT, { ...ON, enabled: false, monthlyLimit: 5 });
    await api.real.grant(ACCOUNT, 10, 'Goodwill');
    await waitUntil(() => row(el).includes('Auto top-up: Off'), `still "${row(el)}"`, LONG);
    // The fields stay as this editor opened and as typed: Save sends what it shows.
    expect(field(el, 'at-enabled').checked).to.equal(true);
    expect(field(el, 'at-threshold').value).to.equal('45');
    expect(field(el, 'at-limit').value).to.equal('3');
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => !editor(el), 'the editor stayed open');
    expect(await api.autoTopup()).to.deep.include({ ...ON, thresholdMinutes: 45 });
  });

  it('says its package is no longer offered, and asks for another before saving', async () => {
    let gone = true;
    const { el, api } = await mount({ autoTopup: ON }, (api) =>
      readsAnswer(api, { ...ON, packageId: 'gold', status: 'active', cycleCount: 0 }, () => gone),
    );
    expect(row(el)).to.equal(
      'Auto top-up: On Change The package it buys (gold) is no longer offered.',
    );
    await openEditor(el);
    const choice = select(el);
    // Not the first package in its place: an empty choice, and the field is required.
    expect(choice.value).to.equal('');
    expect(text(choice.options[0])).to.equal('Choose a package');
    expect(choice.required).to.equal(true);
    field(el, 'at-threshold').value = '20';
    press(part(el, 'card', 'save-button'));
    await waitUntil(
      () => choice.getAttribute('aria-invalid') === 'true',
      'the package is not invalid',
    );
    const message = card(el).getElementById(choice.getAttribute('aria-describedby')!)!;
    expect(text(message)).to.equal('Choose a package');
    await waitUntil(() => deepActive() === choice, 'focus is not on the package');
    expect(field(el, 'at-threshold').getAttribute('aria-invalid')).to.equal('false');
    expect(puts(api)).to.have.length(0);
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
    // One chosen, it saves.
    gone = false;
    choice.value = 'small';
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => !editor(el), 'the editor stayed open');
    expect(await api.autoTopup()).to.deep.include({ packageId: 'small', thresholdMinutes: 20 });
    expect(row(el)).to.contain('Buys Small (50 min) when 20 min are left');
  });

  it('leaves focus where the user took it while a save was under way', async () => {
    const { el, api } = await mount({ autoTopup: ON });
    const elsewhere = document.createElement('input');
    elsewhere.setAttribute('aria-label', 'Elsewhere');
    document.body.append(elsewhere);
    try {
      await openEditor(el);
      const put = api.hold('PUT /auto-topup');
      press(part(el, 'card', 'save-button'));
      await waitUntil(() => put.waiting === 1, 'the save was not sent');
      elsewhere.focus();
      put.release();
      await waitUntil(() => !editor(el), 'the save did not close the editor');
      expect(document.activeElement === elsewhere, 'focus stays elsewhere').to.equal(true);
    } finally {
      elsewhere.remove();
    }
  });
});

describe('auto top-up, view-only', () => {
  it('shows the row without Change to a view token', async () => {
    const { el } = await mount({ scope: 'view', autoTopup: ON });
    expect(row(el)).to.equal(
      'Auto top-up: On Buys Medium (100 min) when 30 min are left · up to 3 a month (0 used)',
    );
    expect(has(card(el), '[part~=auto-topup-button]'), '[part~=auto-topup-button]').to.equal(false);
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
  });

  it('sends no change with a token that turned view-only, and closes the editor', async () => {
    const errors: CustomEvent[] = [];
    const { el, api } = await mount({
      autoTopup: ON,
      on: { 'minute-topup-error': (e) => errors.push(e) },
    });
    // The token ran out while editing: the fresh one fetchToken gives may only view.
    const view = await api.real.mintToken(ACCOUNT, undefined, 'view');
    expireOnPut(el, api, view);
    const change = await openEditor(el);
    field(el, 'at-threshold').value = '10';
    press(part(el, 'card', 'save-button'));
    await waitUntil(() => !editor(el), 'the editor stayed open');
    // Only the expired token's PUT left: none with the view token.
    expect(puts(api).map((r) => r.auth)).to.deep.equal([`Bearer ${api.token}`]);
    expect((await api.autoTopup()).thresholdMinutes).to.equal(30);
    expect(el.scope).to.equal('view');
    expect(errors.map((e) => e.detail.code)).to.deep.equal(['forbidden']);
    // The row says why, read-only; focus, in the editor that went, goes to View packages.
    expect(text(card(el).querySelector('[part~=auto-topup] [part~=error]')!)).to.equal(
      'You do not have permission to do this. Ask the account’s owner.',
    );
    expect(has(card(el), '[part~=auto-topup-button]'), '[part~=auto-topup-button]').to.equal(false);
    expect(change.isConnected).to.equal(false);
    await waitUntil(() => deepActive() === part(el, 'card', 'view-button'), 'focus lost');
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
  });

  it('closes an open editor when the token turns view-only', async () => {
    const { el, api } = await mount({ autoTopup: ON });
    await openEditor(el);
    el.token = await api.real.mintToken(ACCOUNT, undefined, 'view');
    await waitUntil(() => !editor(el), 'the editor stayed open');
    await waitUntil(() => deepActive() === part(el, 'card', 'view-button'), 'focus lost');
    expect(puts(api)).to.have.length(0);
  });
});

describe('a paused auto top-up', () => {
  it('shows in the banner when a declined charge pauses it live; Turn back on resumes it', async () => {
    const changes: CustomEvent<AutoTopupDto>[] = [];
    const { el, api } = await mount({
      usedMinutes: 400,
      autoTopup: ON,
      on: { 'minute-topup-auto-topup-change': (e) => changes.push(e) },
    });
    expect(has(banner(el), '[part~=paused]'), '[part~=paused]').to.equal(false);
    const region = statusRegion(el);
    await waitUntil(() => api.streams === 1, 'no live stream', LONG);
    api.decline = true;
    // 100 minutes left, then 25: under the threshold, the charge is declined.
    await api.real.recordUsage(ACCOUNT, 75 * 60);
    await waitUntil(
      () => banner(el).querySelector('[part~=paused]'),
      'the pause never showed',
      LONG,
    );
    expect((await api.autoTopup()).status).to.equal('paused');
    expect(text(banner(el).querySelector('[part~=paused]')!)).to.equal(
      'Auto top-up is paused: The card was declined.',
    );
    // Announced in the polite region that was there before it (the banner's text is not a live region).
    expect(statusRegion(el) === region, 'the same region').to.equal(true);
    expect(status(el)).to.equal('Auto top-up is paused: The card was declined.');
    expect(has(banner(el), '[part~=paused][role]'), 'a second live region').to.equal(false);
    expect(row(el)).to.contain('Auto top-up: Paused');
    expect(text(part(el, 'banner', 'resume-button'))).to.equal('Turn back on');
    expect(text(part(el, 'banner', 'buy-button'))).to.equal('Buy more minutes');
    await expect(shadow(el, 'minute-topup-banner')).to.be.accessible();

    press(part(el, 'banner', 'resume-button'));
    await waitUntil(() => !banner(el).querySelector('[part~=paused]'), 'still paused');
    expect(await api.autoTopup()).to.deep.include({ ...ON, status: 'active' });
    expect(changes.map((e) => e.detail.status)).to.deep.equal(['active']);
    expect(status(el)).to.equal('Auto top-up is on');
    expect(row(el)).to.contain('Auto top-up: On');
    // The button went with the pause: focus goes to the card's Change.
    await waitUntil(() => deepActive() === part(el, 'card', 'auto-topup-button'), 'focus lost');
  });

  it('announces a pause a live refresh finds, also one the API gives no reason for', async () => {
    let paused = false;
    const { el, api } = await mount({ autoTopup: ON }, (api) =>
      readsAnswer(api, { ...ON, status: 'paused', cycleCount: 0 }, () => paused),
    );
    const region = statusRegion(el);
    expect(region.getAttribute('aria-live')).to.equal('polite');
    expect(status(el)).to.equal('');
    await waitUntil(() => api.streams === 1, 'no live stream', LONG);
    paused = true;
    await api.real.grant(ACCOUNT, 10, 'Goodwill');
    await waitUntil(() => status(el) !== '', 'the pause was not announced', LONG);
    expect(statusRegion(el) === region, 'the same region').to.equal(true);
    expect(status(el)).to.equal('Auto top-up is paused.');
    expect(text(banner(el).querySelector('[part~=paused]')!)).to.equal('Auto top-up is paused.');
    // Turned back on, the region says so in its place.
    paused = false;
    press(part(el, 'banner', 'resume-button'));
    await waitUntil(() => status(el) === 'Auto top-up is on', `"${status(el)}"`);
  });

  it('is resumed by buying minutes from the banner (read again after the purchase)', async () => {
    // Without the live stream: the purchase's own answer must lead to the new setting.
    const { el, api } = await mount({
      autoTopup: EAGER,
      autoTopupPaused: true,
      attrs: { live: 'off' },
    });
    expect(viewText(el, 'banner')).to.contain('Auto top-up is paused: The card was declined.');
    // Paused from the start: shown, not announced as news.
    expect(status(el)).to.equal('');
    press(part(el, 'banner', 'buy-button'));
    await waitUntil(() => dialogOf(el).open, 'the dialog did not open');
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => !banner(el).querySelector('[part~=paused]'), 'still paused', LONG);
    expect((await api.autoTopup()).status).to.equal('active');
    expect(puts(api)).to.have.length(0);
    expect(row(el)).to.contain('Auto top-up: On');
  });

  it('shows the banner without a warning, and a failure to turn it back on', async () => {
    const errors: CustomEvent[] = [];
    const { el, api } = await mount({
      autoTopup: EAGER,
      autoTopupPaused: true,
      on: { 'minute-topup-error': (e) => errors.push(e) },
    });
    // 499 minutes left: no warning, only the pause.
    expect(has(banner(el), '[part~=message]'), '[part~=message]').to.equal(false);
    expect(has(banner(el), '.paused'), '.paused').to.equal(true);
    api.failing = ['PUT /auto-topup'];
    press(part(el, 'banner', 'resume-button'));
    await waitUntil(() => banner(el).querySelector('[part~=error]'), 'no error shown');
    expect(text(banner(el).querySelector('[part~=error]')!)).to.equal(
      'Something went wrong on our side. Please try again.',
    );
    expect(errors).to.have.length(1);
    expect((await api.autoTopup()).status).to.equal('paused');
    await expect(shadow(el, 'minute-topup-banner')).to.be.accessible();
  });

  it('tells a view token why, and that the owner can turn it back on', async () => {
    const { el } = await mount({ scope: 'view', autoTopup: EAGER, autoTopupPaused: true });
    expect(text(banner(el).querySelector('[part~=paused]')!)).to.equal(
      'Auto top-up is paused: The card was declined. The account owner can turn it back on.',
    );
    expect(has(banner(el), 'button'), 'button').to.equal(false);
    await expect(shadow(el, 'minute-topup-banner')).to.be.accessible();
  });
});
