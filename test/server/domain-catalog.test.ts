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
