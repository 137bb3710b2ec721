import type { Catalog } from '../server/domain/catalog.js';
import { allowanceSeconds } from '../server/domain/counters.js';
import { cycleStart } from '../server/domain/cycles.js';
import { Ledger } from '../server/ledger/ledger.js';
import type { PaymentGateway } from '../server/payments/gateway.js';
import type { LedgerStore } from '../server/store/types.js';

const DAY = 86_400_000;

export interface DemoAccount {
  id: string;
  label: string;
  /**
   * What a visitor should know that the balance does not say (its past, its
   * card). The dashboard shows it after a sentence made from the live balance
   * (`describeBalance`), so the description follows every call and purchase.
   */
  note?: string;
  /** The test gateway declines this account's card. */
  declining?: boolean;
}

/** The demo's accounts, in the order of the switcher. */
export const demoAccounts: DemoAccount[] = [
  { id: 'demo-fresh', label: 'Fresh start' },
  { id: 'demo-running-low', label: 'Running low' },
  {
    id: 'demo-on-extra',
    label: 'Drawing on extra minutes',
    note: 'Three packages bought this cycle, the oldest drawn on first.',
  },
  { id: 'demo-empty', label: 'Out of minutes' },
  {
    id: 'demo-regular-buyer',
    label: 'Buys every month',
    note: 'Top-ups in each of the last three cycles: the card gives upgrade advice with figures.',
  },
  {
    id: 'demo-auto-topup',
    label: 'Auto top-up on',
    note: 'A call that reaches the threshold buys by itself; the webhooks show below.',
  },
  {
    id: 'demo-declined',
    label: 'Card declined',
    note: 'The test payment gateway declines every purchase, auto top-ups too.',
    declining: true,
  },
];

/**
 * The seeded auto top-up settings: at 90 minutes left (just under the
 * `low` warning's 100 of a 500-minute plan, so one call shows both), or at
 * 700 on the declined account's 1,500-minute plan (a 2-hour call reaches it).
 */
export const DEMO_AUTO_TOPUP = {
  'demo-auto-topup': { thresholdMinutes: 90, monthlyLimit: 3 },
  'demo-declined': { thresholdMinutes: 700, monthlyLimit: 3 },
} as const;

/**
 * Creates the demo accounts in telling states, through the real ledger with a
 * clock set back in time, so purchases and calls land in past cycles exactly
 * as they would have. Idempotent: an account that exists is left alone, and
 * every purchase and call has a fixed key, so restarts duplicate nothing.
 */
export async function seedDemo(
  store: LedgerStore,
  catalog: Catalog,
  gateway: PaymentGateway,
  now: number,
): Promise<number> {
  let t = now;
  const ledger = new Ledger({ store, catalog, gateway, clock: { now: () => t } });
  const plan = catalog.plans[0];
  const allowance = allowanceSeconds(plan);
  const pkg = (i: number) => catalog.packages[Math.min(i, catalog.packages.length - 1)].id;
  let created = 0;

  const account = async (id: string, anchorMs: number, planId = plan.id) => {
    const exists = await ledger.getAccount(id).then(
      () => true,
      () => false,
    );
    if (exists) return false;
    t = anchorMs;
    await ledger.putAccount(id, planId, new Date(anchorMs).toISOString());
    created += 1;
    return true;
  };
  const at = (ms: number) => {
    t = ms;
  };
  const buy = (id: string, packageId: string, key: string) => ledger.buy(id, packageId, key);
  const call = (id: string, callId: string, seconds: number) =>
    ledger.recordUsage(id, callId, seconds, new Date(t).toISOString());

  // A new cycle with nothing used: its description says so, and its meter shows 0.
  await account('demo-fresh', now - 3 * DAY);

  if (await account('demo-running-low', now - 20 * DAY)) {
    at(now - 2 * DAY);
    await call('demo-running-low', 'seed-1', Math.round(allowance * 0.9));
  }

  if (await account('demo-on-extra', now - 25 * DAY)) {
    at(now - 20 * DAY);
    await buy('demo-on-extra', pkg(0), 'seed-small');
    at(now - 15 * DAY);
    await call('demo-on-extra', 'seed-1', allowance);
    await buy('demo-on-extra', pkg(1), 'seed-medium');
    at(now - 10 * DAY);
    await call('demo-on-extra', 'seed-2', 3000 + 2400);
    at(now - 5 * DAY);
    await buy('demo-on-extra', pkg(2), 'seed-large');
  }

  if (await account('demo-empty', now - 28 * DAY)) {
    at(now - 25 * DAY);
    await buy('demo-empty', pkg(0), 'seed-small');
    at(now - 3 * DAY);
    await call('demo-empty', 'seed-1', allowance + 3000 + 600);
  }

  const anchor = now - (2 * 30 + 12) * DAY;
  if (await account('demo-regular-buyer', anchor)) {
    for (let cycle = 0; cycle < 3; cycle += 1) {
      const start = cycleStart(anchor, cycle);
      at(start + DAY);
      await call('demo-regular-buyer', `seed-${cycle}-a`, allowance);
      await buy('demo-regular-buyer', pkg(2), `seed-${cycle}-1`);
      at(start + 5 * DAY);
      await buy('demo-regular-buyer', pkg(2), `seed-${cycle}-2`);
      at(Math.min(start + 9 * DAY, now));
      await call('demo-regular-buyer', `seed-${cycle}-b`, cycle < 2 ? 28_000 : 9_000);
    }
  }

  // Set after the seeded calls, which therefore buy nothing (the seeding's
  // ledger sends no webhooks either).
  const autoTopup = (id: keyof typeof DEMO_AUTO_TOPUP) =>
    ledger.putAutoTopup(id, { enabled: true, packageId: pkg(1), ...DEMO_AUTO_TOPUP[id] });

  // 110 minutes left: a 30-minute call warns (`low`), reaches the threshold,
  // and Medium is bought.
  if (await account('demo-auto-topup', now - 10 * DAY)) {
    at(now - DAY);
    await call('demo-auto-topup', 'seed-1', allowance - 110 * 60);
    await autoTopup('demo-auto-topup');
  }

  const growth = catalog.plans[1] ?? plan;
  if (await account('demo-declined', now - 12 * DAY, growth.id)) {
    at(now - DAY);
    await call('demo-declined', 'seed-1', Math.round(allowanceSeconds(growth) * 0.5));
    await autoTopup('demo-declined');
  }
  return created;
}

/** The partner portal's catalog: the same shape in euros, with German names. */
export const partnerCatalog: Catalog = {
  currency: 'EUR',
  packages: [
    { id: 'small', name: 'Klein', minutes: 50, priceMinor: 1400, popular: false },
    { id: 'medium', name: 'Mittel', minutes: 100, priceMinor: 2300, popular: true },
    { id: 'large', name: 'Groß', minutes: 250, priceMinor: 4500, popular: false },
  ],
  plans: [
    { id: 'basis', name: 'Basis', monthlyMinutes: 500, priceMinor: 4500 },
    { id: 'plus', name: 'Plus', monthlyMinutes: 1500, priceMinor: 11900 },
    { id: 'profi', name: 'Profi', monthlyMinutes: 4000, priceMinor: 27900 },
  ],
};
