import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addCounters,
  allowanceSeconds,
  emptyCounters,
  minutesToSeconds,
  planRemainingSeconds,
  usedSeconds,
} from '../../server/domain/counters.js';

describe('cycle counters', () => {
  it('start at zero and add a partial delta into a new object', () => {
    const before = emptyCounters();
    const after = addCounters(before, { planUsedSeconds: 90, topupCount: 1 });
    assert.deepEqual(after, {
      planUsedSeconds: 90,
      extraUsedSeconds: 0,
      overageSeconds: 0,
      topupCount: 1,
      topupSpendMinor: 0,
    });
    assert.deepEqual(before, emptyCounters(), 'the counters added to stay as they were');
  });

  it('count a plan allowance and a package in seconds', () => {
    assert.equal(allowanceSeconds({ monthlyMinutes: 500 }), 30_000);
    assert.equal(minutesToSeconds(50), 3_000);
  });

  it('leave no negative plan remainder', () => {
    assert.equal(planRemainingSeconds(30_000, 27_000), 3_000);
    assert.equal(planRemainingSeconds(30_000, 30_000), 0);
    assert.equal(planRemainingSeconds(30_000, 31_000), 0);
  });

  it('sum plan, extra and overage as the seconds used in a cycle', () => {
    const counters = addCounters(emptyCounters(), {
      planUsedSeconds: 100,
      extraUsedSeconds: 20,
      overageSeconds: 3,
      topupSpendMinor: 5_000,
    });
    assert.equal(usedSeconds(counters), 123);
    assert.equal(usedSeconds(null), 0);
  });
});
