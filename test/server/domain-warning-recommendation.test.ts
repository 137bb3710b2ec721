import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  catalogDto,
  defaultCatalog,
  findPackage,
  findPlan,
  nextPlan,
  parseCatalog,
  perMinuteMinor,
} from '../../server/domain/catalog.js';
import { DomainError } from '../../server/domain/errors.js';
import { recommendUpgrade, type CycleSummary } from '../../server/domain/recommendation.js';
import { warningLevel } from '../../server/domain/warning.js';
import { Ledger } from '../../server/ledger/ledger.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';

const MIN = 60;
const starter = { id: 'starter', name: 'Starter', monthlyMinutes: 500, priceMinor: 4900 };
const growth = { id: 'growth', name: 'Growth', monthlyMinutes: 1500, priceMinor: 12900 };
const scale = { id: 'scale', name: 'Scale', monthlyMinutes: 4000, priceMinor: 29900 };

function ledgerAt(startIso: string, lowThreshold?: number) {
  let t = Date.parse(startIso);
  const ledger = new Ledger({
    store: new MemoryStore(),
    catalog: defaultCatalog,
    gateway: new TestPaymentGateway(),
    clock: { now: () => t },
    lowThreshold,
  });
  return { ledger, setNow: (iso: string) => void (t = Date.parse(iso)) };
}

describe('warning level', () => {
  const ALLOWANCE = 500 * MIN; // 30 000 s; 20 % = 6 000 s
  const level = (planUsedSeconds: number, extraRemainingSeconds: number, lowThreshold = 0.2) =>
    warningLevel({
      allowanceSeconds: ALLOWANCE,
      planUsedSeconds,
      extraRemainingSeconds,
      lowThreshold,
    });

  it('is none while plenty is left', () => {
    assert.equal(level(0, 0), 'none');
    assert.equal(level(20_000, 0), 'none');
  });

  it('is low at exactly 20 % of the allowance left and none just above it', () => {
    assert.equal(level(24_000, 0), 'low'); // 6 000 s left = 20 %
    assert.equal(level(23_999, 0), 'none'); // 6 001 s left
  });

  it('counts extra minutes toward the 20 % while the plan is not used up', () => {
    assert.equal(level(27_000, 3_000), 'low'); // 3 000 + 3 000 = 6 000
    assert.equal(level(27_000, 3_001), 'none');
    assert.equal(level(29_999, 100_000), 'none'); // one plan second left, lots of extra
    assert.equal(level(29_999, 0), 'low');
  });

  it('is exhausted once the plan is used up and extra minutes are being drawn', () => {
    assert.equal(level(30_000, 1), 'exhausted');
    assert.equal(level(30_000, 15_000), 'exhausted');
  });

  it('is empty when both the plan and the extra minutes are gone', () => {
    assert.equal(level(30_000, 0), 'empty');
    assert.equal(level(31_000, 0), 'empty'); // plan over-used (e.g. after a downgrade)
  });

  it('uses a configurable threshold', () => {
    assert.equal(level(27_000, 0, 0.1), 'low'); // 3 000 = 10 %
    assert.equal(level(26_999, 0, 0.1), 'none');
    assert.equal(level(24_000, 0, 0.1), 'none'); // 20 % is no longer low
    // 7 % of 30 000 is 2 100 exactly, although 0.07 × 30 000 is not in floating point.
    assert.equal(level(27_900, 0, 0.07), 'low');
    assert.equal(level(27_899, 0, 0.07), 'none');
    assert.equal(level(29_999, 0, 0), 'none'); // threshold 0: never low
  });

  it('is reported by the Ledger balance at exactly 20 % and just above', async () => {
    const at = ledgerAt('2026-01-31T10:00:00.000Z');
    await at.ledger.putAccount('acme', 'starter');
    assert.equal((await at.ledger.recordUsage('acme', 'c1', 23_999)).balance.warning, 'none');
    assert.equal((await at.ledger.recordUsage('acme', 'c2', 1)).balance.warning, 'low');
    await at.ledger.buy('acme', 'small', 'k1');
    assert.equal((await at.ledger.balance('acme')).warning, 'none'); // 6 000 + 3 000 left
    assert.equal((await at.ledger.recordUsage('acme', 'c3', 6_000)).balance.warning, 'exhausted');
    assert.equal((await at.ledger.recordUsage('acme', 'c4', 3_000)).balance.warning, 'empty');
  });

  it('takes the threshold from the Ledger options', async () => {
    const at = ledgerAt('2026-01-31T10:00:00.000Z', 0.1);
    await at.ledger.putAccount('acme', 'starter');
    assert.equal((await at.ledger.recordUsage('acme', 'c1', 24_000)).balance.warning, 'none');
    assert.equal((await at.ledger.recordUsage('acme', 'c2', 3_000)).balance.warning, 'low');
  });
});

describe('upgrade recommendation', () => {
  const cycle = (
    topupCount: number,
    topupSpendMinor: number,
    usedMinutes: number,
  ): CycleSummary => ({
    topupCount,
    topupSpendMinor,
    usedSeconds: usedMinutes * MIN,
  });

  it('recommends the next tier when top-ups in 2 of 3 cycles make the plan cost more than it', () => {
    // current: 3 × large (15 000), previous: 2 × large (10 000), the one before: none.
    const r = recommendUpgrade(
      starter,
      growth,
      [cycle(3, 15_000, 1250), cycle(2, 10_000, 1000), cycle(0, 0, 450)],
      'USD',
    );
    assert.deepEqual(r, {
      recommend: true,
      currency: 'USD',
      currentPlan: starter,
      nextPlan: growth,
      cyclesConsidered: 3,
      cyclesWithTopups: 2,
      averageTopupSpendMinor: 8333, // 25 000 / 3 = 8 333.3
      averageMonthlyCostMinor: 13_233, // 4 900 + 8 333
      monthlySavingMinor: 333, // 13 233 − 12 900
      averageUsageSeconds: 54_000, // (1250 + 1000 + 450) min / 3 = 900 min
      nextPlanCoversAverage: true, // 900 ≤ 1500 min
    });
  });

  it('gives the figures but does not recommend when the next tier would cost more', () => {
    const r = recommendUpgrade(
      starter,
      growth,
      [cycle(1, 2500, 600), cycle(1, 1500, 550), cycle(0, 0, 500)],
      'USD',
    );
    assert.equal(r.cyclesWithTopups, 2);
    assert.equal(r.averageTopupSpendMinor, 1333); // 4 000 / 3
    assert.equal(r.averageMonthlyCostMinor, 6233);
    assert.equal(r.monthlySavingMinor, -6667);
    assert.equal(r.averageUsageSeconds, 33_000);
    assert.equal(r.nextPlanCoversAverage, true);
    assert.equal(r.recommend, false);
  });

  it('recommends when the next tier costs exactly the same (it would not cost more)', () => {
    const r = recommendUpgrade(
      starter,
      growth,
      [cycle(2, 12_000, 700), cycle(0, 0, 500), cycle(3, 12_000, 700)],
      'USD',
    );
    assert.equal(r.averageTopupSpendMinor, 8000);
    assert.equal(r.averageMonthlyCostMinor, 12_900);
    assert.equal(r.monthlySavingMinor, 0);
    assert.equal(r.recommend, true);
  });

  it('does not recommend when top-ups were bought in only 1 of 3 cycles, however much', () => {
    const r = recommendUpgrade(
      starter,
      growth,
      [cycle(6, 30_000, 2000), cycle(0, 0, 400), cycle(0, 0, 400)],
      'USD',
    );
    assert.equal(r.cyclesWithTopups, 1);
    assert.equal(r.averageTopupSpendMinor, 10_000);
    assert.equal(r.monthlySavingMinor, 2000);
    assert.equal(r.recommend, false);
  });

  it('says when the next tier would not have covered the average use', () => {
    const r = recommendUpgrade(
      starter,
      growth,
      [cycle(4, 20_000, 1600), cycle(4, 20_000, 1600), cycle(0, 0, 1400)],
      'USD',
    );
    assert.equal(r.averageUsageSeconds, 1533 * MIN + 20); // 4 600 min / 3 = 1 533 min 20 s
    assert.equal(r.nextPlanCoversAverage, false);
    assert.equal(r.averageMonthlyCostMinor, 4900 + 13_333);
    assert.equal(r.monthlySavingMinor, 5333);
    assert.equal(r.recommend, true);
  });

  it('counts missing cycles as empty and ignores cycles beyond the third', () => {
    const short = recommendUpgrade(
      starter,
      growth,
      [cycle(1, 5000, 600), cycle(1, 5000, 600)],
      'USD',
    );
    assert.equal(short.cyclesConsidered, 3);
    assert.equal(short.averageTopupSpendMinor, 3333); // 10 000 / 3, not / 2
    assert.equal(short.averageUsageSeconds, 400 * MIN);
    const long = recommendUpgrade(
      starter,
      growth,
      [cycle(1, 5000, 600), cycle(0, 0, 0), cycle(0, 0, 0), cycle(9, 90_000, 9000)],
      'USD',
    );
    assert.equal(long.cyclesWithTopups, 1);
    assert.equal(long.averageTopupSpendMinor, 1667); // 5 000 / 3 rounds up
    assert.equal(long.recommend, false);
  });

  it('has no next plan and never recommends on the top tier', () => {
    const r = recommendUpgrade(
      scale,
      nextPlan(defaultCatalog, 'scale'),
      [cycle(5, 25_000, 5000), cycle(5, 25_000, 5000), cycle(5, 25_000, 5000)],
      'USD',
    );
    assert.equal(r.nextPlan, null);
    assert.equal(r.recommend, false);
    assert.equal(r.cyclesWithTopups, 3);
    assert.equal(r.averageMonthlyCostMinor, 29_900 + 25_000);
    assert.equal(r.monthlySavingMinor, 0);
    assert.equal(r.nextPlanCoversAverage, false);
  });

  it('is computed by the Ledger from the current cycle and the two before it', async () => {
    const at = ledgerAt('2026-02-10T00:00:00.000Z');
    await at.ledger.putAccount('acme', 'starter', '2026-01-31T10:00:00.000Z');
    // Cycle 0 (31 Jan – 28 Feb): two large packages and 1000 minutes.
    await at.ledger.buy('acme', 'large', 'k1');
    await at.ledger.buy('acme', 'large', 'k2');
    await at.ledger.recordUsage('acme', 'c1', 1000 * MIN);
    // Cycle 1 (28 Feb – 31 Mar): 450 minutes, no top-up.
    at.setNow('2026-03-10T00:00:00.000Z');
    await at.ledger.recordUsage('acme', 'c2', 450 * MIN);
    // Cycle 2 (31 Mar – 30 Apr): three large packages and 1250 minutes.
    at.setNow('2026-04-10T00:00:00.000Z');
    for (const k of ['k3', 'k4', 'k5']) await at.ledger.buy('acme', 'large', k);
    await at.ledger.recordUsage('acme', 'c3', 1250 * MIN);

    const r = await at.ledger.recommendation('acme');
    assert.equal(r.cyclesWithTopups, 2);
    assert.equal(r.averageTopupSpendMinor, 8333);
    assert.equal(r.averageMonthlyCostMinor, 13_233);
    assert.equal(r.monthlySavingMinor, 333);
    assert.equal(r.averageUsageSeconds, 900 * MIN);
    assert.equal(r.nextPlanCoversAverage, true);
    assert.deepEqual(r.nextPlan, growth);
    assert.equal(r.recommend, true);

    // One cycle later the first cycle's top-ups drop out of the window.
    at.setNow('2026-05-10T00:00:00.000Z');
    const later = await at.ledger.recommendation('acme');
    assert.equal(later.cyclesWithTopups, 1);
    assert.equal(later.averageTopupSpendMinor, 5000);
    assert.equal(later.recommend, false);
  });
});

describe('catalog', () => {
  const valid = () => ({
    currency: 'EUR',
    packages: [{ id: 'p-1', name: 'One', minutes: 10, priceMinor: 500, popular: true }],
    plans: [
      { id: 'big', name: 'Big', monthlyMinutes: 1000, priceMinor: 9000 },
      { id: 'small', name: 'Small', monthlyMinutes: 100, priceMinor: 1000 },
      { id: 'mid', name: 'Mid', monthlyMinutes: 500, priceMinor: 5000 },
    ],
  });

  it('parses a valid catalog and sorts its plans by price', () => {
    const c = parseCatalog(valid());
    assert.equal(c.currency, 'EUR');
    assert.deepEqual(
      c.plans.map((p) => p.id),
      ['small', 'mid', 'big'],
    );
    assert.deepEqual(c.packages, [
      { id: 'p-1', name: 'One', minutes: 10, priceMinor: 500, popular: true },
    ]);
    assert.equal(nextPlan(c, 'small')?.id, 'mid');
    assert.equal(nextPlan(c, 'big'), null);
  });

  it('treats anything but popular: true as not popular and drops unknown fields', () => {
    const input = valid();
    (input.packages[0] as Record<string, unknown>).popular = 'yes';
    (input.packages[0] as Record<string, unknown>).extra = 1;
    assert.deepEqual(parseCatalog(input).packages[0], {
      id: 'p-1',
      name: 'One',
      minutes: 10,
      priceMinor: 500,
      popular: false,
    });
  });

  const rejects: [string, (c: ReturnType<typeof valid>) => unknown, string][] = [
    ['a non-object', () => null, 'Invalid catalog: expected a JSON object'],
    ['a string', () => 'catalog', 'Invalid catalog: expected a JSON object'],
    [
      'a lower-case currency',
      (c) => ({ ...c, currency: 'eur' }),
      'Invalid catalog: "currency" must be an ISO 4217 code such as "USD"',
    ],
    [
      'no packages',
      (c) => ({ ...c, packages: [] }),
      'Invalid catalog: "packages" must be a non-empty array',
    ],
    [
      'plans that are not an array',
      (c) => ({ ...c, plans: {} }),
      'Invalid catalog: "plans" must be a non-empty array',
    ],
    [
      'a package id with a space',
      (c) => ({ ...c, packages: [{ ...c.packages[0], id: 'a b' }] }),
      'Invalid catalog: packages[0].id must be a short id',
    ],
    [
      'a package without a name',
      (c) => ({ ...c, packages: [{ ...c.packages[0], name: '' }] }),
      'Invalid catalog: packages[0].name must be text',
    ],
    [
      'a package of zero minutes',
      (c) => ({ ...c, packages: [c.packages[0], { ...c.packages[0], id: 'z', minutes: 0 }] }),
      'Invalid catalog: packages[1].minutes must be a positive integer',
    ],
    [
      'a package of fractional minutes',
      (c) => ({ ...c, packages: [{ ...c.packages[0], minutes: 1.5 }] }),
      'Invalid catalog: packages[0].minutes must be a positive integer',
    ],
    [
      'a negative package price',
      (c) => ({ ...c, packages: [{ ...c.packages[0], priceMinor: -1 }] }),
      'Invalid catalog: packages[0].priceMinor must be an integer ≥ 0',
    ],
    [
      'a plan without minutes',
      (c) => ({ ...c, plans: [{ ...c.plans[0], monthlyMinutes: 0 }] }),
      'Invalid catalog: plans[0].monthlyMinutes must be a positive integer',
    ],
    [
      'a plan price given as a string',
      (c) => ({ ...c, plans: [c.plans[0], { ...c.plans[1], priceMinor: '1000' }] }),
      'Invalid catalog: plans[1].priceMinor must be an integer ≥ 0',
    ],
    [
      'duplicate package ids',
      (c) => ({ ...c, packages: [c.packages[0], c.packages[0]] }),
      'Invalid catalog: ids must be unique',
    ],
    [
      'duplicate plan ids',
      (c) => ({ ...c, plans: [c.plans[0], { ...c.plans[1], id: c.plans[0].id }] }),
      'Invalid catalog: ids must be unique',
    ],
  ];
  for (const [what, make, message] of rejects) {
    it(`rejects ${what} with a sentence naming the problem`, () => {
      assert.throws(() => parseCatalog(make(valid())), { message });
    });
  }

  it('accepts the default catalog as it is', () => {
    assert.deepEqual(parseCatalog(structuredClone(defaultCatalog)), defaultCatalog);
  });

  it('derives the per-minute price, rounded half up', () => {
    assert.deepEqual(
      defaultCatalog.packages.map((p) => perMinuteMinor(p)),
      [30, 25, 20],
    );
    assert.equal(perMinuteMinor({ minutes: 3, priceMinor: 1000 }), 333);
    assert.equal(perMinuteMinor({ minutes: 3, priceMinor: 1001 }), 334);
    assert.equal(perMinuteMinor({ minutes: 400, priceMinor: 1000 }), 3); // 2.5 → 3
    assert.deepEqual(
      catalogDto(defaultCatalog).packages.map((p) => [p.id, p.perMinuteMinor]),
      [
        ['small', 30],
        ['medium', 25],
        ['large', 20],
      ],
    );
  });

  it('finds packages and plans by id and names the missing one', () => {
    assert.equal(findPackage(defaultCatalog, 'medium').minutes, 100);
    assert.equal(findPlan(defaultCatalog, 'growth').priceMinor, 12_900);
    assert.throws(
      () => findPackage(defaultCatalog, 'huge'),
      (e: unknown) =>
        e instanceof DomainError &&
        e.code === 'package_not_found' &&
        e.message === 'No package with id "huge".',
    );
    assert.throws(
      () => findPlan(defaultCatalog, 'gold'),
      (e: unknown) => e instanceof DomainError && e.code === 'plan_not_found',
    );
    assert.equal(nextPlan(defaultCatalog, 'starter')?.id, 'growth');
    assert.equal(nextPlan(defaultCatalog, 'gold'), null);
  });
});
