/**
 * The shipped files, not the sources: `dist/minute-topup.js` on `dist/mocks.js`
 * (run `npm run build` first; `npm run test:widget` does).
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import { startWorker } from './msw-worker.js';

type Mocks = typeof import('../../mocks/index.js');
const bundle = '../../dist/minute-topup.js';
const mocksFile = '../../dist/mocks.js';

describe('the built bundle (dist/minute-topup.js + dist/mocks.js)', () => {
  it('buys a package against the mocks', async () => {
    const widget = (await import(bundle)) as { MinuteTopup: CustomElementConstructor };
    expect(customElements.get('minute-topup')).to.equal(widget.MinuteTopup);
    const { createMinuteTopupMocks } = (await import(mocksFile)) as Mocks;
    const mocks = await createMinuteTopupMocks({
      apiBase: '/api',
      accounts: [{ id: 'acme', usedSeconds: 450 * 60 }],
    });
    const worker = await startWorker(...mocks.handlers);
    try {
      const el = await fixture(
        html`<minute-topup
          api-base="/api"
          account-id="acme"
          token=${await mocks.token('acme')}
        ></minute-topup>`,
      );
      const view = (name: string) =>
        el.shadowRoot!.querySelector(`minute-topup-${name}`)!.shadowRoot!;
      // Generous timeouts: a loaded machine is slow, not wrong.
      const within = { timeout: 10_000 };
      await waitUntil(() => view('card').querySelector('[part=extra]'), 'card not ready', within);
      expect(view('banner').querySelector('[part=message]')!.textContent).to.contain('running low');
      view('card').querySelector<HTMLElement>('[part=buy-button]')!.click();
      const dialog = view('dialog').querySelector('dialog')!;
      await waitUntil(() => dialog.open, 'dialog did not open', within);
      view('dialog').querySelector<HTMLElement>('[part=confirm-button]')!.click();
      await waitUntil(() => !dialog.open, 'purchase did not complete', within);
      expect(view('card').querySelector('[part=extra]')!.textContent!.trim()).to.equal('100 min');
      expect(view('banner').querySelector('[part=banner]')).to.equal(null);
      expect(mocks.api.chargeCount).to.equal(1);
    } finally {
      worker.stop();
    }
  });
});
