import { expect } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { HttpResponse } from 'msw';
import type { PurchaseDto } from '../../contract/index.js';
import { ACCOUNT } from './test-api.js';
import {
  deepActive,
  dialogOf,
  mount,
  openDialog,
  openHistory,
  part,
  press,
  purchase,
  shadow,
  text,
  viewText,
  waitUntil,
} from './helpers.js';

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

  it('shows an error with Retry when the packages cannot be loaded, and recovers', async () => {
    const { el, api } = await mount({ packages: ['small'] }, (a) => {
      a.failing = ['GET /purchases'];
    });
    await openHistory(el);
    await waitUntil(() => viewText(el, 'history').includes('Something went wrong on our side'));
    expect(part(el, 'history', 'error').getAttribute('role')).to.equal('alert');
    expect(viewText(el, 'history')).not.to.contain('Loading');
    api.failing = [];
    press(part(el, 'history', 'retry-button'));
    await waitUntil(() => rows(el).length === 1, 'Retry did not load the packages');
    // The Retry button is gone: focus moves on to the panel it loaded.
    const panel = shadow(el, 'minute-topup-history', '[role=tabpanel]');
    await waitUntil(() => deepActive() === panel, 'focus was lost');
  });

  it('lists every package after a purchase made while the list was unknown', async () => {
    const { el, api } = await mount({ packages: ['small'] }, (a) => {
      a.failing = ['GET /purchases'];
    });
    api.failing = [];
    await openDialog(el);
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => !dialogOf(el).open, 'purchase did not complete');
    const listLoads = () =>
      api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/purchases'));
    await waitUntil(() => listLoads().length === 2, 'the list was not loaded after the purchase');
    await openHistory(el);
    await waitUntil(() => rows(el).length === 2, `rows: ${rows(el).map(text)}`);
    expect(rows(el).map((r) => text(r.children[0]))).to.deep.equal(['Medium', 'Small']);
  });

  it('labels payments processing, awaiting the bank, failed and refunded, and counts none of them', async () => {
    // The API's balance has the Small package; its list adds a payment in every other state.
    const { el } = await mount({ packages: ['small'] }, (api) => {
      const purchases = [
        purchase('pending'),
        purchase('requires_action'),
        purchase('failed'),
        purchase('refunded'),
        purchase('active', { name: 'Small', minutes: 50, priceMinor: 1500, remainingMinutes: 50 }),
      ];
      api.script = (request) =>
        request.method === 'GET' && request.path.endsWith('/purchases')
          ? HttpResponse.json({ purchases })
          : undefined;
    });
    await openHistory(el);
    await waitUntil(() => rows(el).length === 5, 'the list was not reloaded');
    expect(rows(el).map((row) => text(row.children[5]))).to.deep.equal([
      'Processing',
      'Awaiting bank confirmation',
      'Payment failed',
      'Refunded',
      'Active',
    ]);
    // The figures are the balance's: only the active Small package holds minutes.
    expect(text(part(el, 'history', 'total'))).to.equal('Total remaining: 50 min');
    expect(text(part(el, 'card', 'extra'))).to.equal('50 min');
    expect(viewText(el, 'card')).to.contain('1 active package');
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });

  it('shows a grant as such, with its reason and no price', async () => {
    const { el } = await mount({
      packages: ['small'],
      grants: [{ minutes: 30, reason: 'Outage on 2 Nov' }],
    });
    await openHistory(el);
    const [grant, small] = rows(el);
    const cells = (row: Element) => [...row.children].map(text);
    expect(cells(grant)).to.deep.equal([
      'Granted minutes Outage on 2 Nov',
      new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date()),
      'Free',
      '30',
      '30 min',
      'Active',
    ]);
    expect(cells(small)[0]).to.equal('Small');
    expect(text(part(el, 'history', 'total'))).to.equal('Total remaining: 80 min');
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });

  it('shows what a refund gave back: the money (for the locale) and the minutes voided', async () => {
    // 530 minutes used: the plan, then 30 of Small's 50; 20 minutes (40 %) are refunded.
    const { el, api } = await mount({
      packages: ['small', 'medium'],
      usedMinutes: 530,
      attrs: { locale: 'de-DE' },
    });
    const purchases = await api.purchases();
    const small = purchases.find((purchase) => purchase.name === 'Small')!;
    await api.real.refund(ACCOUNT, small.id);
    await waitUntil(() => text(part(el, 'card', 'extra')) === '100 min', 'no refund arrived');
    await openHistory(el);
    await waitUntil(() => rows(el).length === 2);
    const status = text(rows(el)[1].children[5]);
    const date = new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium' }).format(new Date());
    expect(status).to.equal(`Refunded 6,00 $ refunded on ${date}, 20 min voided`);
    expect(text(part(el, 'history', 'total'))).to.equal('Total remaining: 100 min');
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });

  it('says a grant and a refund in the host’s words', async () => {
    const { el } = await mount(
      {
        grants: [{ minutes: 10, reason: 'Welcome' }],
        props: {
          strings: {
            granted: 'Geschenkt',
            noCharge: 'Gratis',
            refunded: 'Erstattet',
            refundDetail: (amount, minutes) => `${amount} zurück, ${minutes} min verfallen`,
          },
        },
      },
      (api) => {
        const refunded: PurchaseDto = {
          ...purchase('refunded', { name: 'Small', minutes: 50, priceMinor: 1500 }),
          refundMinor: 900,
          refundedSeconds: 1800,
          refundedAt: new Date().toISOString(),
        };
        api.script = (request) => {
          if (request.method !== 'GET' || !request.path.endsWith('/purchases')) return undefined;
          const grant: PurchaseDto = {
            ...purchase('active', {
              name: 'Grant',
              minutes: 10,
              priceMinor: 0,
              remainingMinutes: 10,
            }),
            id: 'pur_grant',
            packageId: 'grant',
            kind: 'grant',
            reason: 'Welcome',
          };
          return HttpResponse.json({ purchases: [grant, refunded] });
        };
      },
    );
    await openHistory(el);
    await waitUntil(() => rows(el).length === 2);
    const [grant, refund] = rows(el).map((row) => [...row.children].map(text));
    expect([grant[0], grant[2]]).to.deep.equal(['Geschenkt Welcome', 'Gratis']);
    expect(refund[5]).to.equal('Erstattet $9.00 zurück, 30 min verfallen');
  });

  it('is accessible while open', async () => {
    const { el } = await mount({ packages: ['small', 'large'], usedMinutes: 560 });
    await openHistory(el);
    await expect(shadow(el, 'minute-topup-history')).to.be.accessible();
  });
});
