import { fixture, html, waitUntil as waitUntilWithin } from '@open-wc/testing';
import '../../widget/index.js';
import type { MinuteTopup } from '../../widget/index.js';
import type { PurchaseDto, PurchaseStatus } from '../../contract/index.js';
import { startWorker } from './msw-worker.js';
import { ACCOUNT, API, testApi, type TestApi, type TestApiOptions } from './test-api.js';

export const worker = await startWorker();

/**
 * `waitUntil` of @open-wc/testing with a timeout a loaded machine keeps to
 * (its default, 1 s, is not): 10 s unless told otherwise.
 */
export const waitUntil: typeof waitUntilWithin = (predicate, message, options = {}) =>
  waitUntilWithin(predicate, message, { timeout: 10_000, ...options });

/** An element inside nested shadow roots: `shadow(root, 'minute-topup-card', '[part=buy-button]')`. */
export function shadow<T extends Element = HTMLElement>(from: Element, ...selectors: string[]): T {
  let el: Element | null | undefined = from;
  for (const s of selectors) {
    el = (el!.shadowRoot ?? el)!.querySelector(s);
    if (!el) throw new Error(`${s} not found`);
  }
  return el as T;
}

export const part = (el: Element, view: string, name: string) =>
  shadow(el, `minute-topup-${view}`, `[part~=${name}]`);

/** The focused element, through shadow roots. */
export function deepActive(): Element | null {
  let a = document.activeElement;
  while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
  return a;
}

export const text = (el: Element) => (el.textContent ?? '').replace(/\s+/g, ' ').trim();

/** A visible-text search in one view's shadow root. */
export const viewText = (el: Element, view: string) =>
  text(shadow(el, `minute-topup-${view}`).shadowRoot as unknown as Element);

export interface Mounted {
  el: MinuteTopup;
  api: TestApi;
}

/** The widget on a fake API, waited for until it is ready (unless `ready: false`). */
export async function mount(
  options: TestApiOptions & {
    ready?: boolean;
    attrs?: Record<string, string | null>;
    props?: Partial<Pick<MinuteTopup, 'fetchToken' | 'strings'>>;
    children?: string;
    /** Event listeners attached before the element connects. */
    on?: Record<string, (e: CustomEvent) => void>;
  } = {},
  setup?: (api: TestApi) => void,
): Promise<Mounted> {
  const api = await testApi(options);
  setup?.(api);
  worker.resetHandlers(...api.handlers);
  const el = document.createElement('minute-topup');
  const attrs = {
    'api-base': API,
    'account-id': ACCOUNT,
    token: api.token,
    'upgrade-href': '#upgrade',
    ...options.attrs,
  };
  for (const [k, v] of Object.entries(attrs)) if (v !== null) el.setAttribute(k, v);
  Object.assign(el, options.props);
  for (const [type, fn] of Object.entries(options.on ?? {}))
    el.addEventListener(type, fn as EventListener);
  if (options.children) el.innerHTML = options.children;
  await fixture(html`${el}`);
  if (options.ready !== false) await ready(el);
  return { el, api };
}

export async function ready(el: MinuteTopup) {
  const card = () =>
    el.querySelector('minute-topup-card') ?? el.shadowRoot?.querySelector('minute-topup-card');
  await waitUntil(() => card()?.shadowRoot?.querySelector('[part=extra]')).catch(() => {
    throw new Error(`card never became ready: "${text(card()?.shadowRoot as unknown as Element)}"`);
  });
}

export const dialogOf = (el: Element, view = 'dialog') =>
  shadow<HTMLDialogElement>(el, `minute-topup-${view}`, 'dialog');

/** Focus then click, as a pointer would. */
export function press(button: HTMLElement) {
  button.focus();
  button.click();
}

export async function openDialog(el: Element, from: 'card' | 'banner' = 'card') {
  const button = part(el, from, 'buy-button');
  press(button);
  await waitUntil(() => dialogOf(el).open, 'dialog did not open');
  return button;
}

/** Opens the packages history from the card's View packages; resolves with that button. */
export async function openHistory(el: Element) {
  const button = part(el, 'card', 'view-button');
  press(button);
  await waitUntil(() => dialogOf(el, 'history').open, 'history did not open');
  return button;
}

/**
 * Runs `fn` with some of `Crypto.prototype`'s methods replaced (`null`: removed,
 * as outside a secure context), and puts them back afterwards, also if it throws.
 */
export async function withCrypto<T>(
  overrides: Partial<Record<'getRandomValues' | 'randomUUID', (() => never) | null>>,
  fn: () => T | Promise<T>,
): Promise<T> {
  const methods = Object.keys(overrides) as (keyof typeof overrides)[];
  const saved = methods.map((m) => Object.getOwnPropertyDescriptor(Crypto.prototype, m)!);
  for (const m of methods) {
    const value = overrides[m];
    if (value === null) delete (Crypto.prototype as Partial<Crypto>)[m];
    else Object.defineProperty(Crypto.prototype, m, { configurable: true, value });
  }
  try {
    return await fn();
  } finally {
    methods.forEach((m, i) => Object.defineProperty(Crypto.prototype, m, saved[i]));
  }
}

export const radios = (el: Element) => [
  ...shadow(el, 'minute-topup-dialog').shadowRoot!.querySelectorAll<HTMLInputElement>(
    'input[type=radio]',
  ),
];

/**
 * A package bought now, as the API lists it, in `status`: Medium (100 min,
 * $25) with nothing left unless told; a refunded one has all its minutes voided.
 *
 * @example
 * purchase('pending');
 * purchase('active', { name: 'Small', minutes: 50, priceMinor: 1500, remainingMinutes: 50 });
 */
export function purchase(
  status: PurchaseStatus,
  {
    id = `pur_${status}`,
    name = 'Medium',
    minutes = 100,
    priceMinor = 2500,
    remainingMinutes = 0,
  }: {
    id?: string;
    name?: string;
    minutes?: number;
    priceMinor?: number;
    remainingMinutes?: number;
  } = {},
): PurchaseDto {
  return {
    id,
    packageId: name.toLowerCase(),
    kind: 'package',
    name,
    minutes,
    priceMinor,
    currency: 'USD',
    purchasedAt: new Date().toISOString(),
    totalSeconds: minutes * 60,
    remainingSeconds: remainingMinutes * 60,
    status,
    ...(status === 'refunded' && { refundedSeconds: minutes * 60 }),
  };
}

export const checkedId = (el: Element) => radios(el).find((r) => r.checked)?.value;
