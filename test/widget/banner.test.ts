import { expect } from '@open-wc/testing';
import {
  deepActive,
  dialogOf,
  mount,
  openDialog,
  part,
  shadow,
  text,
  waitUntil,
} from './helpers.js';

const banner = (el: Element) => shadow(el, 'minute-topup-banner').shadowRoot!;

describe('<minute-topup-banner>', () => {
  it('stays hidden while minutes are plentiful', async () => {
    const { el } = await mount({ usedMinutes: 100 });
    expect(banner(el).querySelector('[part=banner]')).to.equal(null);
  });

  it('says politely that minutes run low', async () => {
    const { el } = await mount({ usedMinutes: 450 });
    const message = banner(el).querySelector('[part=message]')!;
    expect(message.getAttribute('role')).to.equal('status');
    expect(message.getAttribute('aria-live')).to.equal('polite');
    expect(message.textContent).to.contain('running low');
  });

  it('says politely that the plan is used up and extra minutes are drawn', async () => {
    const { el } = await mount({ usedMinutes: 500, packages: ['medium'] });
    const message = banner(el).querySelector('[part=message]')!;
    expect(message.getAttribute('role')).to.equal('status');
    expect(message.textContent).to.contain('draw on your extra minutes');
    expect(banner(el).querySelector('.exhausted')).to.exist;
  });

  it('alerts when every minute is gone', async () => {
    const { el } = await mount({ usedMinutes: 500 });
    const message = banner(el).querySelector('[part=message]')!;
    expect(message.getAttribute('role')).to.equal('alert');
    expect(message.getAttribute('aria-live')).to.equal('assertive');
    expect(message.textContent).to.contain('out of minutes');
  });

  it('opens the purchase dialog with Buy more minutes', async () => {
    const { el } = await mount({ usedMinutes: 450 });
    const button = await openDialog(el, 'banner');
    expect(text(button)).to.equal('Buy more minutes');
    expect(dialogOf(el).open).to.equal(true);
  });

  it('gives focus to the card’s Buy more minutes when the purchase ended the warning', async () => {
    const { el } = await mount({ usedMinutes: 450 });
    await openDialog(el, 'banner');
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => !dialogOf(el).open, 'purchase did not complete');
    expect(banner(el).querySelector('[part=banner]')).to.equal(null);
    const cardButton = part(el, 'card', 'buy-button');
    await waitUntil(() => deepActive() === cardButton, 'focus was lost');
  });

  it('stays in place, as does the card, while the widget reloads', async () => {
    const { el, api } = await mount({ usedMinutes: 500 });
    const box = banner(el).querySelector('[part=banner]')!;
    const card = shadow(el, 'minute-topup-card').shadowRoot!;
    const removed: Node[] = [];
    let skeleton = false;
    const watch = new MutationObserver((records) => {
      for (const r of records) removed.push(...r.removedNodes);
      skeleton ||= !!card.querySelector('.skeleton, [aria-busy=true]');
    });
    watch.observe(banner(el), { childList: true, subtree: true });
    watch.observe(card, { childList: true, subtree: true, attributes: true });
    api.delayMs = 300;
    const done = el.reload();
    await waitUntil(() => api.inFlight > 0, 'the reload sent nothing');
    expect(box.isConnected).to.equal(true);
    await done;
    watch.disconnect();
    expect(box.isConnected).to.equal(true);
    expect(removed).to.deep.equal([]);
    expect(skeleton).to.equal(false);
    expect(text(part(el, 'card', 'extra'))).to.equal('0 min');
  });

  for (const [level, used] of [
    ['low', 450],
    ['empty', 500],
  ] as const) {
    it(`is accessible when ${level}`, async () => {
      const { el } = await mount({ usedMinutes: used });
      await expect(shadow(el, 'minute-topup-banner')).to.be.accessible();
    });
  }
});
