import { expect } from '@open-wc/testing';
import { dialogOf, mount, openDialog, shadow, text } from './helpers.js';

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
