import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { allocateUsage, type ActivePackage } from '../../server/domain/allocation.js';
import { cycleAt } from '../../server/domain/cycles.js';
import { defaultCatalog } from '../../server/domain/catalog.js';
import { Ledger } from '../../server/ledger/ledger.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';

const MIN = 60;
const DAY = 86_400_000;
const pkgs = (...remaining: number[]): ActivePackage[] =>
  remaining.map((remainingSeconds, i) => ({ id: `p${i + 1}`, remainingSeconds }));

describe('usage allocation (allocateUsage)', () => {
  it('draws plan minutes before extra minutes', () => {
    assert.deepEqual(allocateUsage(300, 1000, pkgs(500)), {
      fromPlanSeconds: 300,
      fromExtra: [],
      overageSeconds: 0,
    });
  });

  it('draws several packages oldest first', () => {
    assert.deepEqual(allocateUsage(250, 0, pkgs(100, 100, 100)), {
      fromPlanSeconds: 0,
      fromExtra: [
        { purchaseId: 'p1', seconds: 100 },
        { purchaseId: 'p2', seconds: 100 },
        { purchaseId: 'p3', seconds: 50 },
      ],
      overageSeconds: 0,
    });
  });

  it('splits one call that crosses from the plan into extra minutes and across packages', () => {
    assert.deepEqual(allocateUsage(90, 60, pkgs(20, 100)), {
      fromPlanSeconds: 60,
      fromExtra: [
        { purchaseId: 'p1', seconds: 20 },
        { purchaseId: 'p2', seconds: 10 },
      ],
      overageSeconds: 0,
    });
  });

  it('records what neither plan nor packages cover as overage, never a negative balance', () => {
    assert.deepEqual(allocateUsage(1000, 300, pkgs(200, 100)), {
      fromPlanSeconds: 300,
      fromExtra: [
        { purchaseId: 'p1', seconds: 200 },
        { purchaseId: 'p2', seconds: 100 },
      ],
      overageSeconds: 400,
    });
    assert.deepEqual(allocateUsage(45, 0, []), {
      fromPlanSeconds: 0,
      fromExtra: [],
      overageSeconds: 45,
    });
  });

  it('skips empty packages and does not touch packages after the call is covered', () => {
    assert.deepEqual(allocateUsage(30, 0, pkgs(0, 30, 500)), {
      fromPlanSeconds: 0,
      fromExtra: [{ purchaseId: 'p2', seconds: 30 }],
      overageSeconds: 0,
    });
  });

  it('allocates nothing for a zero-second call', () => {
    assert.deepEqual(allocateUsage(0, 0, pkgs(10)), {
      fromPlanSeconds: 0,
      fromExtra: [],
      overageSeconds: 0,
    });
  });

  it('rejects negative or fractional seconds', () => {
    assert.throws(() => allocateUsage(-1, 10, []), RangeError);
    assert.throws(() => allocateUsage(1.5, 10, []), RangeError);
    assert.throws(() => allocateUsage(10, -5, []), RangeError);
    assert.throws(() => allocateUsage(10, 0, pkgs(-3)), RangeError);
  });

  describe('properties', () => {
    const input = fc.record({
      seconds: fc.integer({ min: 0, max: 200_000 }),
      plan: fc.integer({ min: 0, max: 100_000 }),
      packages: fc.array(fc.integer({ min: 0, max: 20_000 }), { maxLength: 8 }),
    });
    const run = (seconds: number, plan: number, packages: number[]) => {
      const list = pkgs(...packages);
      return { list, a: allocateUsage(seconds, plan, list) };
    };

    it('parts sum to the seconds and none is negative', () => {
      fc.assert(
        fc.property(input, ({ seconds, plan, packages }) => {
          const { a } = run(seconds, plan, packages);
          const extra = a.fromExtra.reduce((s, x) => s + x.seconds, 0);
          assert.equal(a.fromPlanSeconds + extra + a.overageSeconds, seconds);
          assert.ok(a.fromPlanSeconds >= 0 && a.overageSeconds >= 0);
          for (const x of a.fromExtra) assert.ok(x.seconds > 0, 'no empty draws are listed');
        }),
        { numRuns: 400 },
      );
    });

    it('never overdraws a package nor draws one twice', () => {
      fc.assert(
        fc.property(input, ({ seconds, plan, packages }) => {
          const { list, a } = run(seconds, plan, packages);
          const ids = a.fromExtra.map((x) => x.purchaseId);
          assert.equal(new Set(ids).size, ids.length);
          for (const x of a.fromExtra) {
            const p = list.find((q) => q.id === x.purchaseId);
            assert.ok(p, `unknown package ${x.purchaseId}`);
            assert.ok(x.seconds <= p.remainingSeconds);
          }
          assert.ok(a.fromPlanSeconds <= plan);
        }),
        { numRuns: 400 },
      );
    });

    it('uses the plan first: extra or overage only when the plan is drained', () => {
      fc.assert(
        fc.property(input, ({ seconds, plan, packages }) => {
          const { a } = run(seconds, plan, packages);
          assert.equal(a.fromPlanSeconds, Math.min(seconds, plan));
          if (a.fromExtra.length > 0 || a.overageSeconds > 0) {
            assert.equal(a.fromPlanSeconds, plan);
          }
        }),
        { numRuns: 400 },
      );
    });

    it('is FIFO: a later package is touched only when every earlier one is emptied, overage only when all are', () => {
      fc.assert(
        fc.property(input, ({ seconds, plan, packages }) => {
          const { list, a } = run(seconds, plan, packages);
          const drawn = new Map(a.fromExtra.map((x) => [x.purchaseId, x.seconds]));
          // Ids appear in the packages' order.
          const order = a.fromExtra.map((x) => list.findIndex((p) => p.id === x.purchaseId));
          assert.deepEqual(
            order,
            [...order].sort((x, y) => x - y),
          );
          list.forEach((p, i) => {
            if ((drawn.get(p.id) ?? 0) === 0) return;
            for (const earlier of list.slice(0, i)) {
              assert.equal(
                drawn.get(earlier.id) ?? 0,
                earlier.remainingSeconds,
                `${p.id} drawn while ${earlier.id} still had minutes`,
              );
            }
          });
          if (a.overageSeconds > 0) {
            for (const p of list) assert.equal(drawn.get(p.id) ?? 0, p.remainingSeconds);
          }
        }),
        { numRuns: 400 },
      );
    });
  });
});

/** A ledger on a memory store with a clock the test moves. */
function ledgerAt(startIso: string) {
  let t = Date.parse(startIso);
  let n = 0;
  const gateway = new TestPaymentGateway();
  const ledger = new Ledger({
    store: new MemoryStore(),
    catalog: defaultCatalog,
    gateway,
    clock: { now: () => t },
    newId: () => `pur_${++n}`,
  });
  return {
    ledger,
    gateway,
    advance: (ms: number) => {
      t += ms;
    },
    setNow: (iso: string) => {
      t = Date.parse(iso);
    },
    now: () => t,
  };
}

describe('usage allocation through the Ledger', () => {
  const ANCHOR = '2026-01-31T10:00:00.000Z';

  it('draws the plan, then packages oldest first, then overage, across calls', async () => {
    const { ledger } = ledgerAt(ANCHOR);
    await ledger.putAccount('acme', 'starter', ANCHOR); // 500 min
    await ledger.buy('acme', 'small', 'k1'); // 50 min → pur_1
    await ledger.buy('acme', 'medium', 'k2'); // 100 min → pur_2

    const a = await ledger.recordUsage('acme', 'c1', 490 * MIN);
    assert.equal(a.usage.fromPlanSeconds, 490 * MIN);
    assert.deepEqual(a.usage.fromExtra, []);
    assert.equal(a.balance.plan.remainingSeconds, 10 * MIN);
    assert.equal(a.balance.extra.remainingSeconds, 150 * MIN);

    // 10 plan minutes left, then all 50 of pur_1, then 5 of pur_2.
    const b = await ledger.recordUsage('acme', 'c2', 65 * MIN);
    assert.equal(b.usage.fromPlanSeconds, 10 * MIN);
    assert.deepEqual(b.usage.fromExtra, [
      { purchaseId: 'pur_1', seconds: 50 * MIN },
      { purchaseId: 'pur_2', seconds: 5 * MIN },
    ]);
    assert.equal(b.usage.overageSeconds, 0);
    assert.deepEqual(b.balance.extra, { remainingSeconds: 95 * MIN, activePackages: 1 });
    assert.equal(b.balance.warning, 'exhausted');

    const c = await ledger.recordUsage('acme', 'c3', 100 * MIN);
    assert.equal(c.usage.fromPlanSeconds, 0);
    assert.deepEqual(c.usage.fromExtra, [{ purchaseId: 'pur_2', seconds: 95 * MIN }]);
    assert.equal(c.usage.overageSeconds, 5 * MIN);
    assert.deepEqual(c.balance.extra, { remainingSeconds: 0, activePackages: 0 });
    assert.equal(c.balance.overageSeconds, 5 * MIN);
    assert.equal(c.balance.warning, 'empty');

    const list = await ledger.listPurchases('acme');
    assert.deepEqual(
      list.map((p) => [p.id, p.remainingSeconds, p.status]),
      [
        ['pur_2', 0, 'used'],
        ['pur_1', 0, 'used'],
      ],
    );
  });

  it('restores the plan in a new cycle and leaves extra minutes untouched', async () => {
    const { ledger, setNow } = ledgerAt(ANCHOR);
    await ledger.putAccount('acme', 'starter', ANCHOR);
    await ledger.buy('acme', 'medium', 'k1');
    await ledger.recordUsage('acme', 'c1', 520 * MIN); // 500 plan + 20 extra
    let bal = await ledger.balance('acme');
    assert.equal(bal.plan.remainingSeconds, 0);
    assert.equal(bal.extra.remainingSeconds, 80 * MIN);

    setNow('2026-02-28T09:59:59.999Z'); // still the first cycle
    bal = await ledger.balance('acme');
    assert.equal(bal.plan.remainingSeconds, 0);
    assert.equal(bal.plan.cycleEnd, '2026-02-28T10:00:00.000Z');

    setNow('2026-02-28T10:00:00.000Z'); // the second cycle begins
    bal = await ledger.balance('acme');
    assert.equal(bal.plan.cycleStart, '2026-02-28T10:00:00.000Z');
    assert.equal(bal.plan.cycleEnd, '2026-03-31T10:00:00.000Z');
    assert.equal(bal.plan.usedSeconds, 0);
    assert.equal(bal.plan.remainingSeconds, 500 * MIN);
    assert.deepEqual(bal.extra, { remainingSeconds: 80 * MIN, activePackages: 1 });
    assert.equal(bal.overageSeconds, 0);
    assert.equal(bal.warning, 'none');

    const u = await ledger.recordUsage('acme', 'c2', 60);
    assert.equal(u.usage.fromPlanSeconds, 60, 'the new cycle draws the plan again first');
    assert.deepEqual(u.usage.fromExtra, []);
  });

  it('never changes the plan allowance when a package is bought', async () => {
    const { ledger } = ledgerAt(ANCHOR);
    await ledger.putAccount('acme', 'growth', ANCHOR);
    await ledger.recordUsage('acme', 'c1', 100 * MIN);
    const before = await ledger.balance('acme');
    const { balance: after } = await ledger.buy('acme', 'large', 'k1');
    assert.deepEqual(after.plan, before.plan);
    assert.equal(after.plan.allowanceSeconds, 1500 * MIN);
    assert.equal(after.plan.remainingSeconds, 1400 * MIN);
    assert.equal(after.extra.remainingSeconds, before.extra.remainingSeconds + 250 * MIN);
  });

  it('charges late usage (occurredAt in the previous cycle) to its own cycle', async () => {
    const { ledger, gateway, setNow } = ledgerAt(ANCHOR);
    await ledger.putAccount('acme', 'starter', ANCHOR);
    setNow('2026-02-20T00:00:00.000Z');
    await ledger.recordUsage('acme', 'c1', 490 * MIN, '2026-02-10T00:00:00.000Z');
    await ledger.buy('acme', 'small', 'k1'); // bought in the first cycle
    assert.equal(gateway.chargeCount, 1);
    setNow('2026-03-05T00:00:00.000Z'); // second cycle: 28 Feb – 31 Mar

    // Reported late: 30 minutes on 27 Feb, first cycle. 10 plan minutes were left there.
    const late = await ledger.recordUsage('acme', 'late', 30 * MIN, '2026-02-27T23:00:00.000Z');
    assert.equal(late.usage.fromPlanSeconds, 10 * MIN);
    assert.equal(late.usage.fromExtra.length, 1);
    assert.equal(late.usage.fromExtra[0].seconds, 20 * MIN);
    assert.equal(late.usage.overageSeconds, 0);
    // The current cycle's plan is untouched.
    assert.equal(late.balance.plan.usedSeconds, 0);
    assert.equal(late.balance.plan.remainingSeconds, 500 * MIN);
    assert.equal(late.balance.extra.remainingSeconds, 30 * MIN);

    const audit = await ledger.store.audit();
    const first = audit.cycles.find((c) => c.cycleStartMs === Date.parse(ANCHOR));
    assert.ok(first);
    assert.equal(first.planUsedSeconds, 500 * MIN);
    assert.equal(first.extraUsedSeconds, 20 * MIN);
    const second = audit.cycles.find(
      (c) => c.cycleStartMs === Date.parse('2026-02-28T10:00:00.000Z'),
    );
    assert.equal(second?.planUsedSeconds ?? 0, 0);
  });

  it('charges usage exactly at a cycle start to the new cycle', async () => {
    const { ledger, setNow } = ledgerAt(ANCHOR);
    await ledger.putAccount('acme', 'starter', ANCHOR);
    setNow('2026-03-01T00:00:00.000Z');
    await ledger.recordUsage('acme', 'before', 60, '2026-02-28T09:59:59.999Z');
    await ledger.recordUsage('acme', 'at', 120, '2026-02-28T10:00:00.000Z');
    const audit = await ledger.store.audit();
    const used = (start: number) =>
      audit.cycles.find((c) => c.cycleStartMs === start)?.planUsedSeconds;
    const anchorMs = Date.parse(ANCHOR);
    assert.equal(used(cycleAt(anchorMs, 0).start), 60);
    assert.equal(used(cycleAt(anchorMs, 1).start), 120);
    assert.equal((await ledger.balance('acme')).plan.usedSeconds, 120);
  });

  it('keeps a month-end anchor on the last day of short months as the clock moves', async () => {
    const { ledger, advance } = ledgerAt(ANCHOR);
    await ledger.putAccount('acme', 'starter', ANCHOR);
    const starts: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      starts.push((await ledger.balance('acme')).plan.cycleStart);
      advance(31 * DAY);
    }
    assert.deepEqual(starts, [
      '2026-01-31T10:00:00.000Z',
      '2026-02-28T10:00:00.000Z',
      '2026-03-31T10:00:00.000Z',
      '2026-04-30T10:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
    ]);
  });
});
