import { expect } from '@open-wc/testing';
import { sendKeys, setViewport } from '@web/test-runner-commands';
import {
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

const overflowsSideways = (el: Element) => el.scrollWidth > el.clientWidth;

describe('on a 375 px wide phone', () => {
  before(() => setViewport({ width: 375, height: 740 }));
  after(() => setViewport({ width: 800, height: 600 }));

  it('scrolls nothing sideways but the packages table, which says it scrolls', async () => {
    const { el } = await mount({ packages: ['small', 'large'], usedMinutes: 560 });
    expect(overflowsSideways(el)).to.equal(false);
    expect(overflowsSideways(part(el, 'card', 'card'))).to.equal(false);
    await openHistory(el);
    const dialog = dialogOf(el, 'history');
    expect(overflowsSideways(dialog)).to.equal(false);
    expect(document.documentElement.scrollWidth).to.be.at.most(375);

    const region = part(el, 'history', 'table-scroll');
    expect(region.contains(part(el, 'history', 'table'))).to.equal(true);
    expect(overflowsSideways(region), 'the table does not scroll').to.equal(true);
    // A named region a keyboard can reach and scroll…
    expect(region.getAttribute('role')).to.equal('region');
    expect(region.tabIndex).to.equal(0);
    const name = region.getAttribute('aria-labelledby');
    expect(text((region.getRootNode() as ShadowRoot).getElementById(name!)!)).to.equal(
      'Your packages',
    );
    // …with a shade at the edge that has more beyond it.
    const style = getComputedStyle(region);
    expect(style.backgroundImage.match(/radial-gradient/g)).to.have.length(2);
    expect(style.backgroundAttachment).to.contain('local');
    region.focus();
    await sendKeys({ press: 'ArrowRight' });
    await waitUntil(() => region.scrollLeft > 0, 'ArrowRight did not scroll the table');

    // Every column can be brought into view.
    const headers = [...region.querySelectorAll('thead th')];
    expect(headers.map(text)).to.include.members(['Remaining', 'Status']);
    const box = region.getBoundingClientRect();
    region.scrollLeft = 0;
    expect(headers[0].getBoundingClientRect().left).to.be.at.least(box.left - 1);
    region.scrollLeft = region.scrollWidth;
    await waitUntil(() => region.scrollLeft + region.clientWidth >= region.scrollWidth - 1);
    expect(headers.at(-1)!.getBoundingClientRect().right).to.be.at.most(box.right + 1);
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });

  it('keeps Cancel and Buy together, apart from a declined payment’s error', async () => {
    const { el, api } = await mount();
    await openDialog(el);
    api.decline = true;
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => viewText(el, 'dialog').includes('payment was declined'));
    const dialog = dialogOf(el);
    expect(overflowsSideways(dialog)).to.equal(false);
    const cancel = part(el, 'dialog', 'cancel-button').getBoundingClientRect();
    const buy = part(el, 'dialog', 'confirm-button').getBoundingClientRect();
    const error = part(el, 'dialog', 'error').getBoundingClientRect();
    const oneRow = Math.abs(cancel.top - buy.top) < 1;
    const [upper, lower] = cancel.top <= buy.top ? [cancel, buy] : [buy, cancel];
    const stacked =
      Math.abs(cancel.left - buy.left) < 1 &&
      Math.abs(cancel.width - buy.width) < 1 &&
      lower.top - upper.bottom >= 0 &&
      lower.top - upper.bottom <= 12;
    expect(oneRow || stacked, `Cancel ${JSON.stringify(cancel)}, Buy ${JSON.stringify(buy)}`).to.be
      .true;
    expect(Math.min(cancel.top, buy.top) - error.bottom).to.be.at.least(8);
    const inner = dialog.getBoundingClientRect();
    expect(Math.max(cancel.right, buy.right)).to.be.at.most(inner.right);
  });
});
