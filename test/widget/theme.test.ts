import { expect } from '@open-wc/testing';
import { dialogOf, mount, openDialog, part, shadow, viewText, waitUntil } from './helpers.js';

/**
 * A dark theme whose info tint is light, as the partner page's is: the normal
 * (light) text on it would be unreadable, so each tinted surface has its own
 * "on" colour, distinct from the text colour to tell them apart.
 */
const dark = {
  text: 'rgb(232, 241, 242)',
  muted: 'rgb(159, 188, 194)',
  surface: 'rgb(15, 47, 60)',
  border: 'rgb(29, 75, 90)',
  accent: 'rgb(45, 212, 191)',
  'on-accent': 'rgb(5, 46, 43)',
  track: 'rgb(23, 63, 77)',
  info: 'rgb(125, 211, 252)',
  'on-info': 'rgb(8, 47, 73)',
  warning: 'rgb(92, 71, 18)',
  'on-warning': 'rgb(254, 243, 199)',
  danger: 'rgb(253, 164, 175)',
  'danger-background': 'rgb(63, 29, 43)',
  'on-danger-background': 'rgb(255, 228, 230)',
};

const themed = async (options: Parameters<typeof mount>[0]) => {
  const m = await mount(options);
  for (const [name, value] of Object.entries(dark))
    m.el.style.setProperty(`--minute-topup-color-${name}`, value);
  return m;
};

const color = (el: Element) => getComputedStyle(el).color;
const background = (el: Element) => getComputedStyle(el).backgroundColor;

describe('a dark theme with the "on" colours', () => {
  it('writes the low banner, the upgrade advice and the badges in the on-info colour', async () => {
    const { el } = await themed({ usedMinutes: 450, recommendation: {} });
    const banner = part(el, 'banner', 'banner');
    expect(background(banner)).to.equal(dark.info);
    expect(color(part(el, 'banner', 'message'))).to.equal(dark['on-info']);
    const advice = part(el, 'card', 'upgrade');
    expect(background(advice)).to.equal(dark.info);
    expect(color(advice.querySelector('p')!)).to.equal(dark['on-info']);
    await expect(el).to.be.accessible();
    await openDialog(el);
    const badges = shadow(el, 'minute-topup-dialog').shadowRoot!.querySelectorAll('[part=badge]');
    expect(badges.length).to.be.greaterThan(0);
    for (const badge of badges) {
      expect(background(badge)).to.equal(dark.info);
      expect(color(badge)).to.equal(dark['on-info']);
    }
    await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
  });

  it("writes the bank's notice in the on-info colour", async () => {
    const { el, api } = await themed({});
    api.requiresAction = true;
    await openDialog(el);
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => viewText(el, 'dialog').includes('Your bank needs to confirm'));
    const notice = part(el, 'dialog', 'notice');
    expect(background(notice)).to.equal(dark.info);
    expect(color(notice.querySelector('[role=status]')!)).to.equal(dark['on-info']);
    await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
  });

  it('writes the exhausted banner in the on-warning colour', async () => {
    const { el } = await themed({ usedMinutes: 500, packages: ['medium'] });
    expect(background(part(el, 'banner', 'banner'))).to.equal(dark.warning);
    expect(color(part(el, 'banner', 'message'))).to.equal(dark['on-warning']);
    await expect(el).to.be.accessible();
  });

  it('writes the empty banner and the error boxes in the on-danger-background colour', async () => {
    const { el, api } = await themed({ usedMinutes: 512 });
    expect(background(part(el, 'banner', 'banner'))).to.equal(dark['danger-background']);
    expect(color(part(el, 'banner', 'message'))).to.equal(dark['on-danger-background']);
    const overage = shadow(el, 'minute-topup-card', '.error');
    expect(overage.textContent).to.contain('Overage');
    expect(color(overage)).to.equal(dark['on-danger-background']);
    await expect(el).to.be.accessible();
    await openDialog(el);
    api.decline = true;
    part(el, 'dialog', 'confirm-button').click();
    await waitUntil(() => viewText(el, 'dialog').includes('payment was declined'));
    const error = part(el, 'dialog', 'error');
    expect(background(error)).to.equal(dark['danger-background']);
    expect(color(error)).to.equal(dark['on-danger-background']);
    expect(dialogOf(el).open).to.equal(true);
    await expect(shadow(el, 'minute-topup-dialog')).to.be.accessible();
  });

  it('keeps the light look by default: text colour on tints, danger colour in error boxes', async () => {
    const { el } = await mount({ usedMinutes: 450, recommendation: {} });
    const text = color(part(el, 'card', 'title'));
    expect(color(part(el, 'banner', 'message'))).to.equal(text);
    expect(color(part(el, 'card', 'upgrade').querySelector('p')!)).to.equal(text);
    el.style.setProperty('--minute-topup-color-text', 'rgb(1, 2, 3)');
    expect(color(part(el, 'banner', 'message'))).to.equal('rgb(1, 2, 3)');
  });
});
