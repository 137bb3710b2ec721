import { expect } from '@open-wc/testing';
import { dialogOf, mount, openDialog, part, press, shadow, text, waitUntil } from './helpers.js';

describe('<minute-topup> layout', () => {
  it('lays out the banner above the card by default', async () => {
    const { el } = await mount({ usedMinutes: 450 });
    const parts = [...el.shadowRoot!.children].map((c) => c.localName);
    expect(parts.indexOf('minute-topup-banner')).to.be.lessThan(parts.indexOf('minute-topup-card'));
    expect(el.shadowRoot!.querySelector('slot')).to.equal(null);
  });

  it('lets the host place banner and card apart in its own markup', async () => {
    const { el } = await mount({
      usedMinutes: 500,
      children: `<header><minute-topup-banner></minute-topup-banner></header>
        <p>Your invoices…</p><section><minute-topup-card></minute-topup-card></section>`,
    });
    expect(el.shadowRoot!.querySelector('slot')).to.exist;
    expect(el.shadowRoot!.querySelector('minute-topup-card')).to.equal(null);
    const banner = el.querySelector('minute-topup-banner')!;
    const card = el.querySelector('minute-topup-card')!;
    const bannerMessage = () => text(banner.shadowRoot!.querySelector('[part=message]')!);
    expect(bannerMessage()).to.contain('out of minutes');
    press(banner.shadowRoot!.querySelector<HTMLElement>('[part=buy-button]')!);
    await waitUntil(() => dialogOf(el).open);
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => !dialogOf(el).open);
    // Card and banner follow the purchase at once, without a reload.
    expect(text(card.shadowRoot!.querySelector('[part=extra]')!)).to.equal('100 min');
    expect(bannerMessage()).to.contain('draw on your extra minutes');
  });

  it('exports the parts of its default layout for ::part() styling', async () => {
    const { el } = await mount();
    const style = document.createElement('style');
    style.textContent = 'minute-topup::part(buy-button) { border-radius: 13px; }';
    document.head.append(style);
    try {
      expect(getComputedStyle(part(el, 'card', 'buy-button')).borderTopLeftRadius).to.equal('13px');
    } finally {
      style.remove();
    }
  });

  it('styles the card and banner boxes once through ::part(card) and ::part(banner)', async () => {
    const { el } = await mount({ usedMinutes: 450 });
    const style = document.createElement('style');
    style.textContent =
      'minute-topup::part(card), minute-topup::part(banner) { margin-left: 7px; }';
    document.head.append(style);
    try {
      for (const view of ['card', 'banner']) {
        expect(getComputedStyle(shadow(el, `minute-topup-${view}`)).marginLeft).to.equal('0px');
        expect(getComputedStyle(part(el, view, view)).marginLeft).to.equal('7px');
      }
    } finally {
      style.remove();
    }
  });

  it('takes colours, radius and spacing from --minute-topup-* custom properties', async () => {
    const { el } = await mount();
    el.style.setProperty('--minute-topup-color-accent', 'rgb(1, 2, 3)');
    el.style.setProperty('--minute-topup-radius', '3px');
    const button = part(el, 'card', 'buy-button');
    expect(getComputedStyle(button).backgroundColor).to.equal('rgb(1, 2, 3)');
    expect(getComputedStyle(button).borderTopLeftRadius).to.equal('3px');
    await openDialog(el);
    expect(getComputedStyle(dialogOf(el)).borderTopLeftRadius).to.equal('3px');
  });

  it('is accessible', async () => {
    const { el } = await mount({ usedMinutes: 450, packages: ['small'] });
    await expect(el).to.be.accessible();
  });
});
