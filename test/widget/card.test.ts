import { expect } from '@open-wc/testing';
import { mount, part, viewText, shadow, text, waitUntil } from './helpers.js';

describe('<minute-topup-card>', () => {
  it('shows the plan use as a meter, the days until reset, the extra balance and active packages', async () => {
    const { el, api } = await mount({ usedMinutes: 320, packages: ['small', 'medium'] });
    const days = Math.ceil(
      (Date.parse((await api.balance()).plan.cycleEnd) - Date.now()) / 86_400_000,
    );
    const meter = part(el, 'card', 'meter');
    expect(meter.getAttribute('role')).to.equal('meter');
    expect(meter.getAttribute('aria-valuenow')).to.equal(String(320 * 60));
    expect(meter.getAttribute('aria-valuemax')).to.equal(String(500 * 60));
    const t = viewText(el, 'card');
    expect(t).to.contain('320 of 500 min used');
    expect(t).to.contain(`Resets in ${days} days`);
    expect(text(part(el, 'card', 'extra'))).to.equal('150 min');
    expect(t).to.contain('2 active packages');
    expect(t).not.to.contain('Overage');
  });

  it('shows overage when usage went past every balance', async () => {
    const { el } = await mount({ usedMinutes: 512 });
    expect(viewText(el, 'card')).to.contain('Overage this cycle: 12 min');
  });

  it('reserves its size with a skeleton while loading', async () => {
    const { el, api } = await mount({ ready: false }, (a) => (a.delayMs = 1000));
    const card = part(el, 'card', 'card');
    expect(card.getAttribute('aria-busy')).to.equal('true');
    const loadingHeight = card.getBoundingClientRect().height;
    await waitUntil(() => api.requests.length && viewText(el, 'card').includes('Extra balance'));
    expect(loadingHeight).to.be.greaterThan(100);
    expect(part(el, 'card', 'card').getBoundingClientRect().height).to.equal(loadingHeight);
  });

  it('gives upgrade advice with its figures and follows upgrade-href by default', async () => {
    const { el } = await mount({ recommendation: {} });
    const advice = text(part(el, 'card', 'upgrade'));
    // $154.00 = the $49.00 plan plus $105.00 of top-ups; $154.00 − $129.00 = $25.00.
    expect(advice).to.equal(
      'You bought extra minutes in 3 of the last 3 months: your plan plus top-ups came to ' +
        '$154.00 a month on average. Growth costs $129.00 a month and would save you $25.00. ' +
        'Upgrade to Growth',
    );
    const events: CustomEvent[] = [];
    el.addEventListener('minute-topup-upgrade', (e) => events.push(e));
    part(el, 'card', 'upgrade-link').click();
    expect(events[0].detail.href).to.equal('#upgrade');
    expect(events[0].detail.recommendation.nextPlan.id).to.equal('growth');
    expect(location.hash).to.equal('#upgrade');
    history.replaceState(null, '', location.pathname + location.search);
  });

  it('lets the host cancel the upgrade event and stay on the page', async () => {
    const { el } = await mount({ recommendation: {} });
    el.addEventListener('minute-topup-upgrade', (e) => e.preventDefault());
    part(el, 'card', 'upgrade-link').click();
    expect(location.hash).to.equal('');
  });

  it('gives no upgrade advice when the API does not recommend one', async () => {
    const { el } = await mount();
    expect(viewText(el, 'card')).not.to.contain('Upgrade');
  });

  it('is accessible', async () => {
    const { el } = await mount({ recommendation: {}, usedMinutes: 503 });
    await expect(shadow(el, 'minute-topup-card')).to.be.accessible();
  });
});
