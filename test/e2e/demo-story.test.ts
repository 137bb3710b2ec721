/**
 * The demo's sentences about an account and a call (demo/story.ts), and its
 * operator panel's (demo/operator.ts): pure functions of the live balance, the
 * recorded usage and the purchases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeGrant, describeRefund, minutes, money, operatorRow } from '../../demo/operator.js';
import { describeBalance, describeCall, duration } from '../../demo/story.js';
import type { BalanceDto, PurchaseDto } from '../../contract/index.js';

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

describe('demo operator panel sentences', () => {
  const purchase = (over: Partial<PurchaseDto>): PurchaseDto => ({
    id: 'p1',
    packageId: 'medium',
    kind: 'package',
    name: 'Medium',
    minutes: 100,
    priceMinor: 2500,
    currency: 'USD',
    purchasedAt: '2026-11-12T00:00:00.000Z',
    totalSeconds: 6000,
    remainingSeconds: 3600,
    status: 'active',
    ...over,
  });

  it('formats money in the currency’s minor units, and time in minutes and seconds', () => {
    assert.equal(money(1500, 'USD'), '$15.00');
    assert.equal(money(0, 'USD'), '$0.00');
    assert.equal(money(1400, 'EUR'), '€14.00');
    assert.equal(money(1500, 'JPY'), '¥1,500');
    assert.equal(minutes(3600), '60 min');
    assert.equal(minutes(90), '1 min 30 s');
    assert.equal(minutes(0), '0 min');
  });

  it('lists a package with what is left, and offers only an active package for refund', () => {
    assert.deepEqual(operatorRow(purchase({})), {
      id: 'p1',
      name: 'Medium',
      date: 'Nov 12, 2026',
      price: '$25.00',
      left: '60 of 100 min',
      status: 'Active',
      refundable: true,
      label: 'Medium (Nov 12, 2026): 60 of 100 min left',
    });
    assert.equal(operatorRow(purchase({ status: 'used', remainingSeconds: 0 })).refundable, false);
    assert.equal(operatorRow(purchase({ status: 'pending' })).refundable, false);
  });

  it('shows a refund with the money returned, and a grant as free with its reason', () => {
    const refunded = operatorRow(
      purchase({
        status: 'refunded',
        remainingSeconds: 0,
        refundedSeconds: 3600,
        refundMinor: 1500,
      }),
    );
    assert.equal(refunded.status, 'Refunded $15.00');
    assert.equal(refunded.refundable, false);
    const grant = operatorRow(
      purchase({
        kind: 'grant',
        packageId: 'grant',
        name: 'Grant',
        priceMinor: 0,
        reason: 'Outage',
      }),
    );
    assert.equal(grant.name, 'Grant: Outage');
    assert.equal(grant.price, 'Free');
    assert.equal(grant.refundable, false, 'a grant cost nothing to refund');
  });

  it('says what a grant and a refund did', () => {
    const after = balance({ extra: 1800 + 59, packages: 1 });
    assert.equal(
      describeGrant({
        purchase: purchase({ kind: 'grant', name: 'Grant', minutes: 30, reason: 'Outage' }),
        balance: after,
      }),
      'Granted 30 free minutes (Outage). Extra balance: 30 min.',
    );
    assert.equal(
      describeGrant({ purchase: purchase({ kind: 'grant', minutes: 1 }), balance: after }),
      'Granted 1 free minute. Extra balance: 30 min.',
    );
    const refund = purchase({
      status: 'refunded',
      remainingSeconds: 0,
      refundedSeconds: 3630,
      refundMinor: 1512,
    });
    assert.equal(
      describeRefund({ purchase: refund, balance: balance({ extra: 15_000, packages: 1 }) }),
      'Refunded $15.12 of $25.00 for Medium: its 60 min 30 s left are void. Extra balance: 250 min.',
    );
    assert.equal(
      describeRefund({
        purchase: { ...refund, refundedSeconds: 0, refundMinor: 0 },
        balance: balance({}),
      }),
      'Refunded $0.00 of $25.00 for Medium: it had no minutes left. Extra balance: 0 min.',
    );
  });
});
