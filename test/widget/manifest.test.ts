import { expect } from '@open-wc/testing';
import { HttpResponse } from 'msw';
import {
  dialogOf,
  mount,
  openDialog,
  openHistory,
  part,
  purchase,
  shadow,
  waitUntil,
} from './helpers.js';

/** The part of `custom-elements.json` (written by `npm run build`) these tests read. */
interface Manifest {
  modules: {
    declarations?: {
      tagName?: string;
      cssParts?: { name: string }[];
      events?: { name: string; type?: { text: string } }[];
    }[];
  }[];
}

const VIEWS = [
  'minute-topup-card',
  'minute-topup-banner',
  'minute-topup-dialog',
  'minute-topup-history',
] as const;

/** The elements the manifest declares, by tag name. */
async function declarations() {
  const res = await fetch('/custom-elements.json');
  expect(res.ok, 'custom-elements.json: run `npm run build` first').to.equal(true);
  const manifest = (await res.json()) as Manifest;
  return new Map(
    manifest.modules
      .flatMap((module) => module.declarations ?? [])
      .filter((declaration) => declaration.tagName)
      .map((declaration) => [declaration.tagName!, declaration]),
  );
}

const documented = (declaration: { cssParts?: { name: string }[] } | undefined) =>
  (declaration?.cssParts ?? []).map((cssPart) => cssPart.name).sort();

describe('custom-elements.json', () => {
  it('lists exactly the parts each view renders across its states', async () => {
    const rendered = new Map(VIEWS.map((tag) => [tag, new Set<string>()]));
    const collect = (el: Element) => {
      for (const tag of VIEWS) {
        for (const node of shadow(el, tag).shadowRoot!.querySelectorAll('[part]'))
          for (const name of node.getAttribute('part')!.split(/\s+/)) rendered.get(tag)!.add(name);
      }
    };
    /** The history's packages as shown (closed, it keeps what it last rendered), once `name` is there. */
    const collectHistory = async (el: Element, name: string) => {
      await openHistory(el);
      await waitUntil(() =>
        shadow(el, 'minute-topup-history').shadowRoot!.querySelector(`[part~=${name}]`),
      );
      collect(el);
      part(el, 'history', 'close-button').click();
      await waitUntil(() => !dialogOf(el, 'history').open, 'history did not close');
    };

    // A running-low account with a package, upgrade advice and a declined payment.
    const busy = await mount({ packages: ['small'], usedMinutes: 450, recommendation: {} });
    collect(busy.el);
    await collectHistory(busy.el, 'table');
    await openDialog(busy.el);
    busy.api.decline = true;
    part(busy.el, 'dialog', 'confirm-button').click();
    await waitUntil(() =>
      shadow(busy.el, 'minute-topup-dialog').shadowRoot!.querySelector('[part=error]'),
    );
    collect(busy.el);
    // A payment waiting for the processor (a 202 the in-memory API does not give).
    const waiting = await mount();
    waiting.api.script = (request) =>
      request.method === 'POST'
        ? HttpResponse.json(
            { purchase: purchase('pending', { id: 'pur_1' }), clientSecret: null },
            { status: 202 },
          )
        : undefined;
    await openDialog(waiting.el);
    part(waiting.el, 'dialog', 'confirm-button').click();
    await waitUntil(() =>
      shadow(waiting.el, 'minute-topup-dialog').shadowRoot!.querySelector('[part~=notice]'),
    );
    collect(waiting.el);
    // Recent calls, with more than a page of them.
    const calls = await mount({ calls: Array.from({ length: 21 }, () => 60) });
    await openHistory(calls.el);
    part(calls.el, 'history', 'tab')
      .parentElement!.querySelector<HTMLElement>('#tab-calls')!
      .click();
    await waitUntil(() =>
      shadow(calls.el, 'minute-topup-history').shadowRoot!.querySelector('[part~=more-button]'),
    );
    collect(calls.el);
    // Auto top-up paused (the banner), turning it back on failed, then its editor open (the card).
    const auto = await mount({
      autoTopup: { enabled: true, thresholdMinutes: 600, packageId: 'medium', monthlyLimit: 3 },
      autoTopupPaused: true,
    });
    collect(auto.el);
    auto.api.failing = ['PUT /auto-topup'];
    part(auto.el, 'banner', 'resume-button').click();
    await waitUntil(() =>
      shadow(auto.el, 'minute-topup-banner').shadowRoot!.querySelector('[part~=error]'),
    );
    collect(auto.el);
    part(auto.el, 'card', 'auto-topup-button').click();
    await waitUntil(() =>
      shadow(auto.el, 'minute-topup-card').shadowRoot!.querySelector('[part~=save-button]'),
    );
    collect(auto.el);
    // Nothing bought yet.
    await collectHistory((await mount()).el, 'empty');
    // The list of packages could not be loaded.
    await collectHistory(
      (await mount({}, (api) => (api.failing = ['GET /purchases']))).el,
      'error',
    );
    // Nothing could be loaded.
    const failed = await mount({ ready: false }, (api) => (api.status = 500));
    await waitUntil(() =>
      shadow(failed.el, 'minute-topup-card').shadowRoot!.querySelector('[part=retry-button]'),
    );
    collect(failed.el);

    const manifest = await declarations();
    for (const tag of VIEWS) {
      expect([...rendered.get(tag)!].sort(), tag).to.deep.equal(documented(manifest.get(tag)));
    }
  });

  it('lists parts of the root that it exports, and it exports every part of the views', async () => {
    const manifest = await declarations();
    const { el } = await mount();
    const exported = [...el.shadowRoot!.querySelectorAll('[exportparts]')].map((child) =>
      child.getAttribute('exportparts')!.split(',').sort(),
    );
    const all = [...new Set(VIEWS.flatMap((tag) => documented(manifest.get(tag))))].sort();
    expect(exported).to.have.length(4);
    for (const names of exported) expect(names).to.deep.equal(all);
    expect(all).to.include.members(documented(manifest.get('minute-topup')));
  });

  it('types the detail of every event', async () => {
    const manifest = await declarations();
    const events = [...manifest.values()].flatMap((declaration) => declaration.events ?? []);
    expect(events.map((event) => event.name).sort()).to.deep.equal([
      'minute-topup-authenticate',
      'minute-topup-auto-topup-change',
      'minute-topup-error',
      'minute-topup-purchase',
      'minute-topup-upgrade',
      'minute-topup-upgrade',
    ]);
    for (const event of events) expect(event.type?.text, event.name).to.match(/^CustomEvent<\w+>$/);
  });
});
