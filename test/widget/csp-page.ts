/**
 * The tests of `csp.test.html`: a page whose Content-Security-Policy allows
 * no inline style (`style-src 'self'`), with three widgets on it.
 */
import { runTests } from '@web/test-runner-mocha';
import { expect, fixture, html } from '@open-wc/testing';
import { createMinuteTopupMocks } from '../../mocks/index.js';
import type { MinuteTopup } from '../../widget/index.js';
import { openHistory, ready, shadow, waitUntil, worker } from './helpers.js';

/** Every violation on the page, counted from before the first widget. */
const violations: SecurityPolicyViolationEvent[] = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(e));

/**
 * The violations so far. Reports arrive late and in order: a deliberate one,
 * made now, marks the moment every earlier one has arrived.
 */
async function violationsSoFar() {
  const probe = document.createElement('i');
  document.body.append(probe);
  probe.setAttribute('style', 'color: red');
  await waitUntil(() => violations.some((v) => v.target === probe), 'no report of the probe');
  probe.remove();
  return violations.filter((v) => v.target !== probe);
}

const share = (inner: Element, outer: Element) =>
  inner.getBoundingClientRect().width / outer.getBoundingClientRect().width;

runTests(async () => {
  describe('on a host with a strict Content-Security-Policy', () => {
    it('shows true meters and bars through the CSSOM, with no violation', async () => {
      const mocks = await createMinuteTopupMocks({
        apiBase: '/csp-api',
        latencyMs: 200,
        accounts: [
          { id: 'fresh', usedSeconds: 0 },
          { id: 'half', usedSeconds: 250 * 60 },
          // The plan, all of Small and half of Large used up.
          { id: 'spent', packages: ['small', 'large'], usedSeconds: (500 + 50 + 125) * 60 },
        ],
      });
      worker.resetHandlers(...mocks.handlers);
      const ids = ['fresh', 'half', 'spent'];
      const tokens = await Promise.all(ids.map((id) => mocks.token(id)));
      const page = await fixture<HTMLElement>(
        html`<div>
          ${ids.map(
            (id, i) =>
              html`<minute-topup
                api-base="/csp-api"
                account-id=${id}
                token=${tokens[i]}
              ></minute-topup>`,
          )}
        </div>`,
      );
      const [fresh, half, spent] = [...page.children] as MinuteTopup[];
      // The loading skeleton has varied widths from the stylesheet.
      const skeleton = [
        ...shadow(fresh, 'minute-topup-card').shadowRoot!.querySelectorAll('.skeleton'),
      ];
      expect(skeleton.length).to.equal(5);
      expect(share(skeleton[0], skeleton[1])).to.be.closeTo(0.4, 0.02);
      await Promise.all([fresh, half, spent].map(ready));

      const meter = (el: Element) => {
        const card = shadow(el, 'minute-topup-card').shadowRoot!;
        return share(card.querySelector('[part=meter-fill]')!, card.querySelector('[part=meter]')!);
      };
      expect(meter(fresh), 'a plan with 0 minutes used').to.equal(0);
      expect(meter(half), 'a plan half used').to.be.closeTo(0.5, 0.01);
      expect(meter(spent), 'a plan used up').to.equal(1);

      await openHistory(spent);
      const history = shadow(spent, 'minute-topup-history').shadowRoot!;
      await waitUntil(() => history.querySelectorAll('tbody tr').length === 2, 'no packages');
      const bars = [...history.querySelectorAll('[part=bar]')].map((bar) =>
        share(bar.firstElementChild!, bar),
      );
      // Newest first: Large half left, Small used up.
      expect(bars[0]).to.be.closeTo(0.5, 0.01);
      expect(bars[1]).to.equal(0);

      const seen = await violationsSoFar();
      expect(
        seen.map((v) => `${v.violatedDirective} ${v.sample}`),
        'Content-Security-Policy violations',
      ).to.deep.equal([]);
    });
  });
});
