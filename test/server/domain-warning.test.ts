import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warningLevel } from '../../server/domain/warning.js';
import { ledgerAt } from '../support/api.js';

const MIN = 60;

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
