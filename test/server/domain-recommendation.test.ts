import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextPlan, defaultCatalog } from '../../server/domain/catalog.js';
import { recommendUpgrade, type CycleSummary } from '../../server/domain/recommendation.js';
import { ledgerAt } from '../support/api.js';

const MIN = 60;
const starter = { id: 'starter', name: 'Starter', monthlyMinutes: 500, priceMinor: 4900 };
const growth = { id: 'growth', name: 'Growth', monthlyMinutes: 1500, priceMinor: 12900 };
const scale = { id: 'scale', name: 'Scale', monthlyMinutes: 4000, priceMinor: 29900 };

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
