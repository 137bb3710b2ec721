import { expect } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { HttpResponse } from 'msw';
import type { UsagePageDto } from '../../contract/index.js';
import type { MinuteTopup } from '../../widget/index.js';
import { deepActive, mount, openHistory, part, press, shadow, text, waitUntil } from './helpers.js';
import { ACCOUNT, type TestApi } from './test-api.js';

const historyRoot = (el: Element) => shadow(el, 'minute-topup-history').shadowRoot!;
const tab = (el: Element, name: 'packages' | 'calls') =>
  historyRoot(el).querySelector<HTMLElement>(`#tab-${name}`)!;
const panel = (el: Element) => historyRoot(el).querySelector<HTMLElement>('[role=tabpanel]')!;
const calls = (el: Element) => [...historyRoot(el).querySelectorAll('[part~=call]')];
const moreButton = (el: Element) =>
  historyRoot(el).querySelector<HTMLElement>('[part~=more-button]');
/** A call's split: its text after its date and time. */
const split = (call: Element) =>
  text(call)
    .slice(text(call.querySelector('.note')!).length)
    .trim();
const usageReads = (api: TestApi) => api.requests.filter((r) => r.path.endsWith('/usage'));

/** Opens the history on Recent calls and waits for the first page (or its end state). */
async function openCalls(el: MinuteTopup) {
  await openHistory(el);
  press(tab(el, 'calls'));
  await waitUntil(
    () =>
      panel(el).getAttribute('aria-labelledby') === 'tab-calls' &&
      !panel(el).querySelector('[aria-busy=true]'),
    'the calls did not load',
  );
}

const day = (iso: string, locale?: string) =>
  new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' }).format(new Date(iso));

describe('Recent calls', () => {
  it('shows how a call was drawn: "4:12 = 2:00 plan + 2:12 Medium (bought …)"', async () => {
    // 498 of the plan's 500 minutes used: a 4:12 call takes the last 2:00, then 2:12 of Medium.
    const { el, api } = await mount({ usedMinutes: 498, packages: ['medium'], calls: [252] });
    await openCalls(el);
    const { usage } = await api.get<UsagePageDto>('/usage');
    const [medium] = await api.purchases();
    const [call, earlier] = calls(el);
    expect(split(call)).to.equal(
      `4:12 = 2:00 plan + 2:12 Medium (bought ${day(medium.purchasedAt)})`,
    );
    const dateTime = new Intl.DateTimeFormat(undefined, {
      dateStyle: 'medium',
      timeStyle: 'short',
    });
    expect(text(call.querySelector('.note')!)).to.equal(
      dateTime.format(new Date(usage[0].occurredAt)),
    );
    expect(split(earlier)).to.equal('498:00 = 498:00 plan');
    expect(calls(el)).to.have.length(2);
    expect(moreButton(el)).to.equal(null);
  });

  it('names granted minutes and overage', async () => {
    const { el, api } = await mount({
      usedMinutes: 500,
      grants: [{ minutes: 1, reason: 'Sorry' }],
      calls: [150],
    });
    await openCalls(el);
    const [grant] = await api.purchases();
    expect(split(calls(el)[0])).to.equal(
      `2:30 = 1:00 granted (${day(grant.purchasedAt)}) + 1:30 overage`,
    );
  });

  it('formats durations and dates for the locale, in the host’s words', async () => {
    const { el, api } = await mount({
      usedMinutes: 499,
      packages: ['small'],
      calls: [75],
      attrs: { locale: 'de-DE' },
      props: {
        strings: {
          recentCalls: 'Letzte Anrufe',
          callPlan: (duration) => `${duration} Tarif`,
          callPackage: (duration, name, date) => `${duration} ${name} (gekauft ${date})`,
          callSplit: (duration, parts) => `${duration}: ${parts.join(', ')}`,
        },
      },
    });
    await openHistory(el);
    expect(text(tab(el, 'calls'))).to.equal('Letzte Anrufe');
    press(tab(el, 'calls'));
    await waitUntil(() => calls(el).length === 2);
    const [small] = await api.purchases();
    expect(split(calls(el)[0])).to.equal(
      `1:15: 1:00 Tarif, 0:15 Small (gekauft ${day(small.purchasedAt, 'de-DE')})`,
    );
  });

  it('pages through 45 calls with Show more, each call once, newest first', async () => {
    // Call n lasts n seconds: its duration names it.
    const seconds = Array.from({ length: 45 }, (_, i) => i + 1);
    const { el, api } = await mount({ calls: seconds });
    await openCalls(el);
    expect(calls(el)).to.have.length(20);
    const button = moreButton(el)!;
    expect(text(button)).to.equal('Show more');
    press(button);
    await waitUntil(() => calls(el).length === 40, 'the second page did not arrive');
    // Still more: focus stays on Show more.
    expect(deepActive()).to.equal(moreButton(el));
    press(moreButton(el)!);
    await waitUntil(() => calls(el).length === 45, 'the last page did not arrive');
    const shown = calls(el).map((call) => split(call).split(' = ')[0]);
    const expected = seconds.map((s) => `0:${String(s).padStart(2, '0')}`).reverse();
    expect(shown).to.deep.equal(expected);
    expect(moreButton(el)).to.equal(null);
    // The button went with the last page: focus moves on to the list's panel, not the body.
    await waitUntil(() => deepActive() === panel(el), 'focus was lost');
    expect(usageReads(api)).to.have.length(3);
  });

  it('reads its first page again on a live change, keeping the calls paged in', async () => {
    const { el, api } = await mount({ calls: Array.from({ length: 25 }, () => 30) });
    await waitUntil(() => api.streams === 1, 'no live stream', { timeout: 20_000 });
    await openCalls(el);
    press(moreButton(el)!);
    await waitUntil(() => calls(el).length === 25);
    const reads = usageReads(api).length;
    await api.real.recordUsage(ACCOUNT, 95);
    await waitUntil(() => calls(el).length === 26, 'the new call did not appear');
    expect(split(calls(el)[0])).to.equal('1:35 = 1:35 plan');
    expect(usageReads(api)).to.have.length(reads + 1);
    expect(moreButton(el)).to.equal(null);
  });

  it('says so when there are no calls yet', async () => {
    const { el } = await mount();
    await openCalls(el);
    expect(text(part(el, 'history', 'empty'))).to.equal('No calls yet.');
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });

  it('shows an error with Retry when the calls cannot be loaded, and recovers', async () => {
    const { el, api } = await mount({ calls: [60] }, (a) => {
      a.failing = ['GET /usage'];
    });
    await openCalls(el);
    expect(part(el, 'history', 'error').getAttribute('role')).to.equal('alert');
    expect(text(panel(el))).to.contain('Something went wrong on our side');
    api.failing = [];
    press(part(el, 'history', 'retry-button'));
    await waitUntil(() => calls(el).length === 1, 'Retry did not load the calls');
    await waitUntil(() => deepActive() === panel(el), 'focus was lost');
  });

  it('keeps the calls shown when Show more fails, and Retry goes on from there', async () => {
    const { el, api } = await mount({ calls: Array.from({ length: 21 }, () => 10) });
    await openCalls(el);
    api.script = (request) =>
      request.path.endsWith('/usage')
        ? HttpResponse.json({ error: { code: 'internal_error', message: 'Boom' } }, { status: 500 })
        : undefined;
    press(moreButton(el)!);
    await waitUntil(() => historyRoot(el).querySelector('[part~=error]'), 'no error shown');
    expect(calls(el)).to.have.length(20);
    expect(moreButton(el)).to.equal(null);
    await waitUntil(() => deepActive() === part(el, 'history', 'retry-button'), 'focus was lost');
    api.script = undefined;
    press(part(el, 'history', 'retry-button'));
    await waitUntil(() => calls(el).length === 21, 'Retry did not go on');
    expect(historyRoot(el).querySelector('[part~=error]')).to.equal(null);
  });

  it('is a keyboard-operable tab pair with its panel', async () => {
    const { el } = await mount({ packages: ['small'], calls: [30] });
    await openHistory(el);
    const tablist = part(el, 'history', 'tabs');
    expect(tablist.getAttribute('role')).to.equal('tablist');
    const [packages, recent] = [tab(el, 'packages'), tab(el, 'calls')];
    const selected = () => [packages, recent].map((t) => t.getAttribute('aria-selected'));
    expect(selected()).to.deep.equal(['true', 'false']);
    expect([packages.tabIndex, recent.tabIndex]).to.deep.equal([0, -1]);
    expect(packages.getAttribute('aria-controls')).to.equal(panel(el).id);
    expect(panel(el).getAttribute('aria-labelledby')).to.equal(packages.id);
    packages.focus();
    await sendKeys({ press: 'ArrowRight' });
    await waitUntil(() => selected()[1] === 'true');
    expect(deepActive()).to.equal(recent);
    expect(recent.tabIndex).to.equal(0);
    expect(panel(el).getAttribute('aria-labelledby')).to.equal(recent.id);
    await waitUntil(() => calls(el).length === 1);
    await sendKeys({ press: 'Home' });
    await waitUntil(() => selected()[0] === 'true');
    expect(deepActive()).to.equal(packages);
    await sendKeys({ press: 'End' });
    await waitUntil(() => deepActive() === recent && selected()[1] === 'true');
    await sendKeys({ press: 'ArrowLeft' });
    await waitUntil(() => deepActive() === packages && selected()[0] === 'true');
    // Tab leaves the tab list for the panel.
    await sendKeys({ press: 'Tab' });
    expect(deepActive()).to.equal(panel(el));
  });

  it('opens on the packages from View packages, whichever tab was shown last', async () => {
    const { el } = await mount({ calls: [30] });
    await openCalls(el);
    press(part(el, 'history', 'close-button'));
    await waitUntil(() => !historyRoot(el).querySelector('dialog')!.open);
    await openHistory(el);
    expect(tab(el, 'packages').getAttribute('aria-selected')).to.equal('true');
    expect(text(panel(el))).to.contain('No packages bought yet.');
  });

  it('is accessible with calls and Show more', async () => {
    const { el } = await mount({
      usedMinutes: 499,
      packages: ['small'],
      calls: Array.from({ length: 24 }, () => 45),
    });
    await openCalls(el);
    expect(moreButton(el)).not.to.equal(null);
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });
});
