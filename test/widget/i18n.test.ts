import { expect } from '@open-wc/testing';
import { dialogOf, mount, openDialog, part, text, viewText, waitUntil } from './helpers.js';

const confirmText = (el: Element) => text(part(el, 'dialog', 'confirm-button'));

describe('locale, currency and strings', () => {
  it('formats prices and numbers for locale="de-DE"', async () => {
    const { el } = await mount({
      attrs: { locale: 'de-DE' },
      packages: ['large', 'large', 'large', 'large', 'large'],
    });
    expect(text(part(el, 'card', 'extra'))).to.equal('1.250 min');
    await openDialog(el);
    expect(confirmText(el)).to.equal('Buy 100 minutes for 25,00 $');
    expect(viewText(el, 'dialog')).to.contain('0,25 $ per minute').and.contain('Save 17 %');
  });

  it("uses the catalog's currency", async () => {
    const { el } = await mount({ attrs: { locale: 'de-DE' }, currency: 'EUR' });
    await openDialog(el);
    expect(confirmText(el)).to.equal('Buy 100 minutes for 25,00 €');
  });

  it('divides minor units by the currency’s own fraction digits', async () => {
    const { el } = await mount({ attrs: { locale: 'en-US' }, currency: 'JPY' });
    await openDialog(el);
    expect(confirmText(el)).to.equal('Buy 100 minutes for ¥2,500');
  });

  it('formats dates in the history for the locale', async () => {
    const { el } = await mount({ attrs: { locale: 'de-DE' }, packages: ['small'] });
    part(el, 'card', 'view-button').click();
    await waitUntil(() => dialogOf(el, 'history').open);
    const date = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium' }).format(new Date());
    expect(viewText(el, 'history')).to.contain(date);
  });

  it('replaces strings, including terms that are functions', async () => {
    const { el } = await mount({
      props: {
        strings: {
          buyMore: 'Top up',
          confirm: (minutes, price) => `Pay ${price} for ${minutes} min`,
        },
      },
    });
    expect(text(part(el, 'card', 'buy-button'))).to.equal('Top up');
    expect(text(part(el, 'card', 'view-button'))).to.equal('View packages');
    await openDialog(el);
    expect(confirmText(el)).to.equal('Pay $25.00 for 100 min');
    el.strings = { buyMore: 'Recharge' };
    await waitUntil(() => text(part(el, 'card', 'buy-button')) === 'Recharge');
  });
});
