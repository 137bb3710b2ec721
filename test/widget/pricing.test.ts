import { expect } from '@open-wc/testing';
import fc from 'fast-check';
import type { PackageDto } from '../../contract/index.js';
import { cheaperPerMinute, packageValues } from '../../widget/pricing.js';

const pack = (id: string, minutes: number, priceMinor: number): PackageDto => ({
  id,
  name: id,
  minutes,
  priceMinor,
  perMinuteMinor: Math.round(priceMinor / minutes),
  popular: false,
});

describe('pricing', () => {
  it('compares prices per minute exactly', () => {
    expect(cheaperPerMinute(pack('m', 100, 2500), pack('s', 50, 1500))).to.equal(true);
    expect(cheaperPerMinute(pack('s', 50, 1500), pack('m', 100, 2500))).to.equal(false);
    // The same price per minute is "at most".
    expect(cheaperPerMinute(pack('a', 40, 1393), pack('b', 80, 2786))).to.equal(true);
    expect(cheaperPerMinute(pack('b', 80, 2786), pack('a', 40, 1393))).to.equal(true);
  });

  it('gives the default catalog its badges: Medium saves 17%, Large is the best value at 33%', () => {
    // Small $0.30/min, Medium $0.25/min (1/6 less), Large $0.20/min (1/3 less).
    const values = packageValues([
      pack('small', 50, 1500),
      pack('medium', 100, 2500),
      pack('large', 250, 5000),
    ]);
    expect(values).to.deep.equal([
      { bestValue: false, saving: null },
      { bestValue: false, saving: 25000 / 150000 },
      { bestValue: true, saving: 125000 / 375000 },
    ]);
  });

  it('shows a saving of exactly 0.5% and ties for the best value', () => {
    // Small 350/10 = 35 a minute; Medium 1393/40 = 34.825 (0.5% less); Large the same as Medium.
    const values = packageValues([
      pack('small', 10, 350),
      pack('medium', 40, 1393),
      pack('large', 80, 2786),
    ]);
    expect(values.map((v) => v.bestValue)).to.deep.equal([false, true, true]);
    expect(values[1].saving).to.equal(70 / 14000);
    expect(values[2].saving).to.equal(140 / 28000);
  });

  it('shows no saving below 0.5%', () => {
    // 10 min for 1000 against 200 min for 19901: 0.495% less a minute.
    const [, bigger] = packageValues([pack('small', 10, 1000), pack('big', 200, 19901)]);
    expect(bigger).to.deep.equal({ bestValue: true, saving: null });
  });

  it('measures savings against the package with the fewest minutes, wherever it is listed', () => {
    const values = packageValues([pack('large', 250, 5000), pack('small', 50, 1500)]);
    expect(values).to.deep.equal([
      { bestValue: true, saving: 1 / 3 },
      { bestValue: false, saving: null },
    ]);
  });

  it('calls nothing the best value when there is one package', () => {
    expect(packageValues([pack('only', 100, 2500)])).to.deep.equal([
      { bestValue: false, saving: null },
    ]);
    expect(packageValues([])).to.deep.equal([]);
  });

  it('gives "Best value" only to a cheapest package, and savings from 0.5% to below 100%', () => {
    const catalog = fc.array(
      fc.record({
        minutes: fc.integer({ min: 1, max: 10_000 }),
        priceMinor: fc.integer({ min: 1, max: 1_000_000 }),
      }),
      { minLength: 2, maxLength: 6 },
    );
    fc.assert(
      fc.property(catalog, (shapes) => {
        const packages = shapes.map((s, i) => pack(`p${i}`, s.minutes, s.priceMinor));
        const values = packageValues(packages);
        const perMinute = packages.map((p) => p.priceMinor / p.minutes);
        const least = Math.min(...perMinute);
        expect(values.some((v) => v.bestValue)).to.equal(true);
        values.forEach((v, i) => {
          if (v.bestValue) expect(perMinute[i]).to.be.closeTo(least, least * 1e-9);
          if (v.saving !== null)
            expect(v.saving)
              .to.be.within(1 / 200, 1)
              .and.below(1);
        });
      }),
    );
  });
});
