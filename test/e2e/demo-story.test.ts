/**
 * The demo's sentences about an account and a call (demo/story.ts): pure
 * functions of the live balance and the recorded usage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBalance, describeCall, duration } from '../../demo/story.js';
import type { BalanceDto } from '../../contract/index.js';

const balance = (over: {
  used?: number;
  extra?: number;
  packages?: number;
  overage?: number;
  warning?: BalanceDto['warning'];
}): BalanceDto => ({
  plan: {
    id: 'starter',
    name: 'Starter',
    allowanceSeconds: 30_000,
    usedSeconds: over.used ?? 0,
    remainingSeconds: Math.max(0, 30_000 - (over.used ?? 0)),
    cycleStart: '2026-11-01T00:00:00.000Z',
    cycleEnd: '2026-12-01T00:00:00.000Z',
  },
  extra: { remainingSeconds: over.extra ?? 0, activePackages: over.packages ?? 0 },
  overageSeconds: over.overage ?? 0,
  warning: over.warning ?? 'none',
  version: 1,
});

describe('demo story', () => {
  it('formats call lengths as a clock: m:ss under an hour, h:mm:ss from an hour', () => {
    assert.equal(duration(0), '0:00');
    assert.equal(duration(59), '0:59');
    assert.equal(duration(300), '5:00');
    assert.equal(duration(3599), '59:59');
    assert.equal(duration(3600), '1:00:00');
    assert.equal(duration(4200), '1:10:00');
    assert.equal(duration(14_400), '4:00:00');
    assert.equal(duration(36_061), '10:01:01');
  });

  it('describes a call by where its minutes came from', () => {
    const usage = {
      callId: 'c',
      seconds: 14_400,
      occurredAt: '2026-11-27T00:00:00.000Z',
      fromPlanSeconds: 3000,
      fromExtra: [
        { purchaseId: 'a', seconds: 6000 },
        { purchaseId: 'b', seconds: 1800 },
      ],
      overageSeconds: 3600,
    };
    assert.equal(
      describeCall(usage),
      'Recorded a 4:00:00 call: 50:00 from the plan, 2:10:00 from extra minutes, 1:00:00 overage.',
    );
    assert.equal(
      describeCall({
        ...usage,
        seconds: 300,
        fromPlanSeconds: 300,
        fromExtra: [],
        overageSeconds: 0,
      }),
      'Recorded a 5:00 call: 5:00 from the plan, 0:00 from extra minutes.',
    );
  });

  it('says nothing is used only while nothing is', () => {
    assert.equal(describeBalance(balance({})), 'A new cycle, nothing used yet; no extra minutes.');
    assert.equal(
      describeBalance(balance({ used: 240 })),
      '4 of 500 plan minutes used; no extra minutes.',
    );
    assert.equal(
      describeBalance(balance({ used: 1, extra: 15_000, packages: 1 })),
      '1 of 500 plan minutes used; 250 extra minutes in 1 package.',
    );
  });

  it('follows the warning levels', () => {
    assert.equal(
      describeBalance(balance({ used: 27_000, warning: 'low' })),
      '10 % of the plan left (450 of 500 min used): the banner warns; no extra minutes.',
    );
    assert.equal(
      describeBalance(balance({ used: 30_000, extra: 1830, packages: 2, warning: 'exhausted' })),
      'Plan used up: calls draw on 30 extra minutes in 2 packages.',
    );
    assert.equal(
      describeBalance(balance({ used: 30_000, overage: 61, warning: 'empty' })),
      'Plan and packages used up: calls run into overage (2 minutes this cycle).',
    );
  });
});
