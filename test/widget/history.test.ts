import { expect, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { deepActive, dialogOf, mount, part, press, shadow, text } from './helpers.js';

const openHistory = async (el: Element) => {
  const button = part(el, 'card', 'view-button');
  press(button);
  await waitUntil(() => dialogOf(el, 'history').open, 'history did not open');
  return button;
};
const rows = (el: Element) => [
  ...shadow(el, 'minute-topup-history').shadowRoot!.querySelectorAll('tbody tr'),
];

describe('<minute-topup-history>', () => {
  it('opens from View packages as a modal dialog', async () => {
    const { el } = await mount({ packages: ['medium'] });
    const button = await openHistory(el);
    expect(text(button)).to.equal('View packages');
    expect(dialogOf(el, 'history').matches(':modal')).to.equal(true);
    expect(text(part(el, 'history', 'title'))).to.equal('Your packages');
  });

  it('says so when no package was bought yet', async () => {
    const { el } = await mount();
    await openHistory(el);
    expect(text(part(el, 'history', 'empty'))).to.equal('No packages bought yet.');
    expect(text(part(el, 'history', 'total'))).to.equal('Total remaining: 0 min');
  });

  it('lists every package newest first with price, minutes, remaining and status', async () => {
    // 560 minutes used: the 500-minute plan, then all of Small (oldest first), then 10 of Large.
    const { el } = await mount({ packages: ['small', 'large'], usedMinutes: 560 });
    await openHistory(el);
    const [large, small] = rows(el);
    const cells = (row: Element) => [...row.children].map(text);
    expect(cells(large)[0]).to.equal('Large');
    expect(cells(large)[1]).to.equal(
      new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date()),
    );
    expect(cells(large).slice(2)).to.deep.equal(['$50.00', '250', '240 min', 'Active']);
    expect(cells(small).slice(2)).to.deep.equal(['$15.00', '50', '0 min', 'Used']);
    expect(large.querySelector<HTMLElement>('[part=bar] > span')!.style.width).to.equal('96%');
    expect(text(part(el, 'history', 'total'))).to.equal('Total remaining: 240 min');
  });

  it('is a table with column and row headers', async () => {
    const { el } = await mount({ packages: ['small'] });
    await openHistory(el);
    const table = part(el, 'history', 'table');
    expect(table.tagName).to.equal('TABLE');
    expect([...table.querySelectorAll('thead th[scope=col]')].map(text)).to.deep.equal([
      'Package',
      'Bought',
      'Price',
      'Minutes',
      'Remaining',
      'Status',
    ]);
    expect(text(table.querySelector('tbody th[scope=row]')!)).to.equal('Small');
  });

  it('closes on Escape and gives focus back to View packages', async () => {
    const { el } = await mount({ packages: ['small'] });
    const button = await openHistory(el);
    await sendKeys({ press: 'Escape' });
    await waitUntil(() => !dialogOf(el, 'history').open);
    expect(deepActive()).to.equal(button);
  });

  it('is accessible while open', async () => {
    const { el } = await mount({ packages: ['small', 'large'], usedMinutes: 560 });
    await openHistory(el);
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });
});
