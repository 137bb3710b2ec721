/**
 * Model-based property test of the Ledger over every store: a random sequence
 * of commands is run against the real Ledger and against a small model of its
 * rules (plan first, then packages oldest first, then overage; one charge per
 * key; one usage per call id); every answer must equal the model's, and after
 * each run the ledger's invariants (`assertInvariants`) must hold in what the
 * store's rows add up to (`audit`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { BalanceDto, PurchaseResultDto, UsageResultDto } from '../../contract/index.js';
import {
  cycleAt,
  cycleContaining,
  defaultCatalog,
  DomainError,
} from '../../server/domain/index.js';
import { Ledger } from '../../server/ledger/ledger.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import type { LedgerAudit, LedgerStore } from '../../server/store/types.js';

const DAY = 86_400_000;

/** One source of stores: each runs the same property. */
const storeFactories: { name: string; open: () => LedgerStore; numRuns: number }[] = [
  { name: 'MemoryStore', open: () => new MemoryStore(), numRuns: 150 },
  { name: 'SqliteStore(:memory:)', open: () => new SqliteStore(':memory:'), numRuns: 100 },
];

// ---------------------------------------------------------------- commands

const ACCOUNTS = ['a0', 'a1', 'a2'] as const;
const PLANS = ['starter', 'growth'] as const;
const PACKAGES = ['small', 'medium', 'large'] as const;
const STARTS = ['2026-01-31T10:00:00.000Z', '2027-12-31T23:00:00.000Z', '2028-02-29T12:00:00.000Z'];
const ANCHORS = [
  '2026-01-31T10:00:00.000Z',
  '2025-12-29T00:00:00.000Z',
  '2028-01-30T06:30:00.000Z',
];

type Cmd =
  | { k: 'put'; acc: number; plan: (typeof PLANS)[number]; anchor: number | null }
  | {
      k: 'buy';
      acc: number;
      pkg: (typeof PACKAGES)[number];
      /** null: a fresh key; otherwise an earlier key of the account, by index. */
      repeat: number | null;
      samePackage: boolean;
      crash: boolean;
    }
  | {
      k: 'use';
      acc: number;
      seconds: number;
      /** null: a fresh callId; otherwise an earlier call of the account, by index. */
      repeat: number | null;
      conflict: boolean;
      withTime: boolean;
      when: 'now' | 'current' | 'previous';
      frac: number;
    }
  | { k: 'advance'; ms: number }
  | { k: 'decline'; acc: number; on: boolean }
  | { k: 'recover' };

const accIx = fc.integer({ min: 0, max: ACCOUNTS.length - 1 });
const pick = fc.option(fc.nat(50), { freq: 2 });
const rarely = fc.integer({ min: 0, max: 7 }).map((n) => n === 0);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('put' as const),
      acc: accIx,
      plan: fc.constantFrom(...PLANS),
      anchor: fc.option(fc.nat(ANCHORS.length - 1)),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('buy' as const),
      acc: accIx,
      pkg: fc.constantFrom(...PACKAGES),
      repeat: pick,
      samePackage: fc.boolean(),
      crash: rarely,
    }),
  },
  {
    weight: 7,
    arbitrary: fc.record({
      k: fc.constant('use' as const),
      acc: accIx,
      seconds: fc.integer({ min: 0, max: 40_000 }),
      repeat: pick,
      conflict: rarely,
      withTime: fc.boolean(),
      when: fc.constantFrom('now' as const, 'current' as const, 'previous' as const),
      frac: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 40 * DAY }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('decline' as const), acc: accIx, on: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'recover' as const }) },
);

const scenario = fc.record({
  start: fc.constantFrom(...STARTS),
  firstPlan: fc.constantFrom(...PLANS),
  commands: fc.array(cmd, { minLength: 1, maxLength: 40, size: 'max' }),
});
type Scenario = { start: string; firstPlan: (typeof PLANS)[number]; commands: Cmd[] };

// ---------------------------------------------------------------- the model

interface ModelAccount {
  planId: string;
  anchorMs: number;
  /** When the ledger created it: no usage may be dated before this or the anchor. */
  createdAtMs: number;
  /** The largest allowance the account has held: plan used in a cycle may not exceed it. */
  maxAllowanceSeconds: number;
  /** Oldest first, as the ledger draws them. */
  purchases: { id: string; totalSeconds: number; remainingSeconds: number }[];
  cycles: Map<number, ModelCycle>;
  keys: string[];
  calls: string[];
}

interface ModelCycle {
  planUsedSeconds: number;
  extraUsedSeconds: number;
  overageSeconds: number;
  topupCount: number;
  topupSpendMinor: number;
}

interface ModelIntent {
  packageId: string;
  /** declined: nothing charged yet; charged: charged but not credited (crash); done: credited. */
  state: 'declined' | 'charged' | 'done';
  result?: PurchaseResultDto;
}

const iso = (ms: number) => new Date(ms).toISOString();
const planOf = (id: string) => defaultCatalog.plans.find((p) => p.id === id)!;
const packageOf = (id: string) => defaultCatalog.packages.find((p) => p.id === id)!;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function emptyCycle(): ModelCycle {
  return {
    planUsedSeconds: 0,
    extraUsedSeconds: 0,
    overageSeconds: 0,
    topupCount: 0,
    topupSpendMinor: 0,
  };
}

/**
 * The warning rule, with the default threshold of 20 %, in integers: `low`
 * while the plan lasts and plan + extra is at most 20 % of the allowance,
 * `exhausted` once extra minutes are drawn, `empty` when both are gone.
 */
function expectedWarning(
  allowance: number,
  planUsed: number,
  extra: number,
): BalanceDto['warning'] {
  const planRemaining = Math.max(0, allowance - planUsed);
  if (planRemaining === 0) return extra > 0 ? 'exhausted' : 'empty';
  return (planRemaining + extra) * 5 <= allowance ? 'low' : 'none';
}

class Model {
  now: number;
  readonly accounts = new Map<string, ModelAccount>();
  readonly intents = new Map<string, ModelIntent>();
  readonly usages = new Map<
    string,
    { accountId: string; seconds: number; occurredAtMs: number; result: UsageResultDto }
  >();
  readonly declining = new Set<string>();
  credits = 0;
  charges = 0;
  /** Usages dated before their account existed (refused). */
  refusedEarly = 0;

  constructor(now: number) {
    this.now = now;
  }

  cycle(a: ModelAccount, atMs: number): ModelCycle {
    const start = cycleContaining(a.anchorMs, atMs).start;
    let c = a.cycles.get(start);
    if (!c) a.cycles.set(start, (c = emptyCycle()));
    return c;
  }

  balance(id: string): BalanceDto {
    const a = this.accounts.get(id)!;
    const plan = planOf(a.planId);
    const cyc = cycleContaining(a.anchorMs, this.now);
    const counters = a.cycles.get(cyc.start) ?? emptyCycle();
    const allowanceSeconds = plan.monthlyMinutes * 60;
    const extra = sum(a.purchases.map((p) => p.remainingSeconds));
    return {
      plan: {
        id: plan.id,
        name: plan.name,
        allowanceSeconds,
        usedSeconds: counters.planUsedSeconds,
        remainingSeconds: Math.max(0, allowanceSeconds - counters.planUsedSeconds),
        cycleStart: iso(cyc.start),
        cycleEnd: iso(cyc.end),
      },
      extra: {
        remainingSeconds: extra,
        activePackages: a.purchases.filter((p) => p.remainingSeconds > 0).length,
      },
      overageSeconds: counters.overageSeconds,
      warning: expectedWarning(allowanceSeconds, counters.planUsedSeconds, extra),
    };
  }

  /** Credits a charged intent: the next purchase id, minutes at the end of the FIFO queue. */
  credit(accountId: string, key: string): PurchaseResultDto {
    const a = this.accounts.get(accountId)!;
    const intent = this.intents.get(`${accountId}\u0000${key}`)!;
    const pkg = packageOf(intent.packageId);
    const id = `pur_${++this.credits}`;
    const totalSeconds = pkg.minutes * 60;
    a.purchases.push({ id, totalSeconds, remainingSeconds: totalSeconds });
    const c = this.cycle(a, this.now);
    c.topupCount += 1;
    c.topupSpendMinor += pkg.priceMinor;
    const result: PurchaseResultDto = {
      purchase: {
        id,
        packageId: pkg.id,
        name: pkg.name,
        minutes: pkg.minutes,
        priceMinor: pkg.priceMinor,
        currency: defaultCatalog.currency,
        purchasedAt: iso(this.now),
        totalSeconds,
        remainingSeconds: totalSeconds,
        status: 'active',
      },
      balance: this.balance(accountId),
    };
    intent.state = 'done';
    intent.result = result;
    return result;
  }

  /** Plan of the cycle first, then packages oldest first, then overage. */
  use(accountId: string, callId: string, seconds: number, occurredAtMs: number): UsageResultDto {
    const a = this.accounts.get(accountId)!;
    const c = this.cycle(a, occurredAtMs);
    const allowance = planOf(a.planId).monthlyMinutes * 60;
    const fromPlanSeconds = Math.min(seconds, Math.max(0, allowance - c.planUsedSeconds));
    let left = seconds - fromPlanSeconds;
    const fromExtra: { purchaseId: string; seconds: number }[] = [];
    for (const p of a.purchases) {
      if (left === 0) break;
      const take = Math.min(left, p.remainingSeconds);
      if (take === 0) continue;
      p.remainingSeconds -= take;
      left -= take;
      fromExtra.push({ purchaseId: p.id, seconds: take });
    }
    c.planUsedSeconds += fromPlanSeconds;
    c.extraUsedSeconds += sum(fromExtra.map((x) => x.seconds));
    c.overageSeconds += left;
    const result: UsageResultDto = {
      usage: {
        callId,
        seconds,
        occurredAt: iso(occurredAtMs),
        fromPlanSeconds,
        fromExtra,
        overageSeconds: left,
      },
      balance: this.balance(accountId),
    };
    this.usages.set(callId, { accountId, seconds, occurredAtMs, result });
    a.calls.push(callId);
    return result;
  }
}

// ---------------------------------------------------------------- the run

const isDomain = (code: string) => (e: unknown) => {
  assert.ok(e instanceof DomainError, `expected a DomainError ${code}, got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

/** Runs one scenario; returns how many usages it saw refused as dated before their account. */
async function run(store: LedgerStore, s: Scenario): Promise<number> {
  const model = new Model(Date.parse(s.start));
  const gateway = new TestPaymentGateway();
  let ids = 0;
  const ledger = new Ledger({
    store,
    catalog: defaultCatalog,
    gateway,
    clock: { now: () => model.now },
    newId: () => `pur_${++ids}`,
  });
  let fresh = 0;
  const commands: Cmd[] = [{ k: 'put', acc: 0, plan: s.firstPlan, anchor: null }, ...s.commands];

  for (const c of commands) {
    switch (c.k) {
      case 'put': {
        const id = ACCOUNTS[c.acc];
        const existing = model.accounts.get(id);
        const anchorIso = c.anchor === null ? undefined : ANCHORS[c.anchor];
        const anchorMs = anchorIso ? Date.parse(anchorIso) : (existing?.anchorMs ?? model.now);
        if (existing && anchorMs !== existing.anchorMs) {
          // An existing account's anchor never moves: refused, nothing changes.
          const before = await store.audit();
          await assert.rejects(ledger.putAccount(id, c.plan, anchorIso), isDomain('conflict'));
          assert.deepEqual(await store.audit(), before);
          break;
        }
        const r = await ledger.putAccount(id, c.plan, anchorIso);
        assert.deepEqual(r, {
          account: { id, planId: c.plan, cycleAnchor: iso(anchorMs), stripeCustomerId: null },
          created: !existing,
        });
        const allowance = planOf(c.plan).monthlyMinutes * 60;
        if (existing) {
          existing.planId = c.plan;
          existing.anchorMs = anchorMs;
          existing.maxAllowanceSeconds = Math.max(existing.maxAllowanceSeconds, allowance);
        } else {
          model.accounts.set(id, {
            planId: c.plan,
            anchorMs,
            createdAtMs: model.now,
            maxAllowanceSeconds: allowance,
            purchases: [],
            cycles: new Map(),
            keys: [],
            calls: [],
          });
        }
        break;
      }

      case 'buy': {
        const id = ACCOUNTS[c.acc];
        const a = model.accounts.get(id);
        if (!a) {
          await assert.rejects(ledger.buy(id, c.pkg, `k${++fresh}`), isDomain('account_not_found'));
          break;
        }
        const key =
          c.repeat !== null && a.keys.length > 0 ? a.keys[c.repeat % a.keys.length] : `k${++fresh}`;
        const intent = model.intents.get(`${id}\u0000${key}`);
        const packageId = intent && c.samePackage ? intent.packageId : c.pkg;
        const chargesBefore = gateway.chargeCount;
        if (intent && intent.packageId !== packageId) {
          await assert.rejects(ledger.buy(id, packageId, key), isDomain('idempotency_key_reused'));
        } else if (intent?.state === 'done') {
          // A repeat returns the first result, charges nothing and changes nothing.
          assert.deepEqual(await ledger.buy(id, packageId, key), intent.result);
        } else if (intent?.state !== 'charged' && model.declining.has(id)) {
          // A declined purchase changes nothing: no charge, no minutes, no counters.
          const before = await store.audit();
          const balance = await ledger.balance(id);
          await assert.rejects(ledger.buy(id, packageId, key), isDomain('payment_declined'));
          assert.deepEqual(await store.audit(), before);
          assert.deepEqual(await ledger.balance(id), balance);
          // Nothing was charged: the attempt is forgotten and its key is free again.
          model.intents.delete(`${id}\u0000${key}`);
          if (!a.keys.includes(key)) a.keys.push(key);
        } else if (intent?.state !== 'charged' && c.crash) {
          // The process dies after the charge and before the minutes are credited.
          gateway.onCharge = () => {
            throw new Error('simulated crash after the charge');
          };
          try {
            await assert.rejects(ledger.buy(id, packageId, key), /simulated crash/);
          } finally {
            gateway.onCharge = undefined;
          }
          model.charges += 1;
          if (intent) intent.state = 'charged';
          else {
            model.intents.set(`${id}\u0000${key}`, { packageId, state: 'charged' });
            a.keys.push(key);
          }
        } else {
          if (!intent) {
            model.intents.set(`${id}\u0000${key}`, { packageId, state: 'declined' });
            a.keys.push(key);
          }
          if (intent?.state !== 'charged') model.charges += 1; // a retry after a crash is not charged again
          const expected = model.credit(id, key);
          assert.deepEqual(await ledger.buy(id, packageId, key), expected);
        }
        assert.equal(gateway.chargeCount, model.charges, 'no charge without minutes, none twice');
        assert.ok(gateway.chargeCount - chargesBefore <= 1);
        break;
      }

      case 'use': {
        const id = ACCOUNTS[c.acc];
        const a = model.accounts.get(id);
        if (!a) {
          await assert.rejects(
            ledger.recordUsage(id, `c${++fresh}`, c.seconds),
            isDomain('account_not_found'),
          );
          break;
        }
        if (c.repeat !== null && a.calls.length > 0) {
          const callId = a.calls[c.repeat % a.calls.length];
          const first = model.usages.get(callId)!;
          const occurredAt = c.withTime ? iso(first.occurredAtMs) : undefined;
          if (c.conflict) {
            await assert.rejects(
              ledger.recordUsage(id, callId, first.seconds + 1, occurredAt),
              isDomain('conflict'),
            );
          } else {
            assert.deepEqual(
              await ledger.recordUsage(id, callId, first.seconds, occurredAt),
              first.result,
            );
          }
          break;
        }
        const callId = `c${++fresh}`;
        let occurredAtMs = model.now;
        if (c.when !== 'now') {
          const current = cycleContaining(a.anchorMs, model.now);
          const from =
            c.when === 'current' ? current.start : cycleAt(a.anchorMs, current.index - 1).start;
          const to = c.when === 'current' ? model.now + 1 : current.start;
          occurredAtMs = from + Math.floor(c.frac * (to - from));
        }
        if (occurredAtMs < Math.min(a.createdAtMs, a.anchorMs)) {
          // Dated before the account existed: refused, and nothing changes.
          model.refusedEarly += 1;
          const before = await store.audit();
          await assert.rejects(
            ledger.recordUsage(id, callId, c.seconds, iso(occurredAtMs)),
            isDomain('occurred_before_account'),
          );
          assert.deepEqual(await store.audit(), before);
          break;
        }
        const expected = model.use(id, callId, c.seconds, occurredAtMs);
        const actual = await ledger.recordUsage(
          id,
          callId,
          c.seconds,
          c.when === 'now' ? undefined : iso(occurredAtMs),
        );
        assert.deepEqual(actual, expected);
        break;
      }

      case 'advance':
        model.now += c.ms;
        break;

      case 'decline':
        gateway.setDeclining(ACCOUNTS[c.acc], c.on);
        if (c.on) model.declining.add(ACCOUNTS[c.acc]);
        else model.declining.delete(ACCOUNTS[c.acc]);
        break;

      case 'recover':
        await recover(ledger, model);
        break;
    }
    // The balance of every account matches the model after every command.
    for (const id of model.accounts.keys()) {
      assert.deepEqual(await ledger.balance(id), model.balance(id), `balance of ${id}`);
    }
  }

  // Complete what a crash left half done, then check the invariants.
  await recover(ledger, model);
  await checkInvariants(ledger, gateway, model, await store.audit());
  return model.refusedEarly;
}

/** Start-up recovery credits exactly the charged-but-not-credited purchases, in order. */
async function recover(ledger: Ledger, model: Model): Promise<void> {
  const expected: [string, string][] = [];
  for (const [k, intent] of model.intents) {
    if (intent.state !== 'charged') continue;
    const [accountId, key] = k.split('\u0000');
    model.credit(accountId, key);
    expected.push([accountId, key]);
  }
  assert.equal(await ledger.completePendingPurchases(), expected.length);
  for (const [accountId, key] of expected) {
    const intent = model.intents.get(`${accountId}\u0000${key}`)!;
    // The stored first result is what a retry with the key now returns.
    assert.deepEqual(await ledger.buy(accountId, intent.packageId, key), intent.result);
  }
}

async function checkInvariants(
  ledger: Ledger,
  gateway: TestPaymentGateway,
  model: Model,
  audit: LedgerAudit,
): Promise<void> {
  // Each purchase: total − Σ allocations = remaining ≥ 0.
  for (const p of audit.purchases) {
    assert.ok(p.remainingSeconds >= 0 && p.remainingSeconds <= p.totalSeconds, `purchase ${p.id}`);
    assert.equal(p.totalSeconds - p.allocated, p.remainingSeconds, `purchase ${p.id}`);
  }
  const modelPurchases = [...model.accounts.values()].flatMap((a) => a.purchases);
  assert.deepEqual(
    [...audit.purchases]
      .sort((x, y) => x.id.localeCompare(y.id))
      .map((p) => [p.id, p.totalSeconds, p.remainingSeconds]),
    [...modelPurchases]
      .sort((x, y) => x.id.localeCompare(y.id))
      .map((p) => [p.id, p.totalSeconds, p.remainingSeconds]),
  );

  // Each account: the maintained counters equal what its purchases add up to.
  assert.equal(audit.accounts.length, model.accounts.size);
  for (const a of audit.accounts) {
    assert.equal(a.extraRemainingSeconds, a.sumPurchaseRemaining, `extra of ${a.id}`);
    assert.equal(a.activePackages, a.countActive, `active packages of ${a.id}`);
    const m = model.accounts.get(a.id)!;
    assert.equal(a.extraRemainingSeconds, sum(m.purchases.map((p) => p.remainingSeconds)));
  }

  // Each cycle: plan used ≤ allowance, and the counters equal the usage rows.
  for (const c of audit.cycles) {
    const m = model.accounts.get(c.accountId)!;
    assert.ok(
      c.planUsedSeconds <= m.maxAllowanceSeconds,
      `plan over-used in ${iso(c.cycleStartMs)}`,
    );
    assert.equal(c.planUsedSeconds, c.sumFromPlan);
    assert.equal(c.extraUsedSeconds, c.sumFromExtra);
    assert.equal(c.overageSeconds, c.sumOverage);
    const counters = await ledger.store.transact((tx) => tx.getCycle(c.accountId, c.cycleStartMs));
    assert.ok(counters, `no counters for ${iso(c.cycleStartMs)}`);
    const { planUsedSeconds, extraUsedSeconds, overageSeconds, topupCount, topupSpendMinor } =
      counters;
    assert.deepEqual(
      { planUsedSeconds, extraUsedSeconds, overageSeconds, topupCount, topupSpendMinor },
      m.cycles.get(c.cycleStartMs) ?? emptyCycle(),
    );
  }

  // Each usage: seconds = fromPlan + fromExtra + overage; each callId once.
  assert.equal(audit.usages.length, model.usages.size);
  for (const u of audit.usages) {
    assert.equal(u.seconds, u.fromPlan + u.fromExtra + u.overage, `usage ${u.callId}`);
    assert.equal(u.seconds, model.usages.get(u.callId)?.seconds, `usage ${u.callId}`);
  }

  // Conservation of seconds.
  const used = sum([...model.usages.values()].map((u) => u.seconds));
  const fromPlan = sum(audit.usages.map((u) => u.fromPlan));
  const fromExtra = sum(audit.usages.map((u) => u.fromExtra));
  const overage = sum(audit.usages.map((u) => u.overage));
  assert.equal(used, fromPlan + fromExtra + overage);
  assert.equal(
    sum(audit.purchases.map((p) => p.totalSeconds)),
    sum(audit.purchases.map((p) => p.remainingSeconds)) + fromExtra,
  );
  assert.equal(sum(audit.purchases.map((p) => p.allocated)), fromExtra);

  // No charge without minutes, no minutes without a charge, none twice.
  const done = [...model.intents.values()].filter((i) => i.state === 'done').length;
  assert.equal(audit.purchases.length, done);
  assert.equal(gateway.chargeCount, done);
  assert.equal(gateway.charges.size, done);
}

for (const factory of storeFactories) {
  describe(`Ledger properties over ${factory.name}`, () => {
    it('keeps every ledger invariant and agrees with the model for any sequence of commands', async (t) => {
      let refusedEarly = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const store = factory.open();
          try {
            refusedEarly += await run(store, s);
          } finally {
            await store.close();
          }
        }),
        { numRuns: factory.numRuns, includeErrorInReport: true },
      );
      t.diagnostic(`usages dated before their account, refused: ${refusedEarly}`);
      assert.ok(refusedEarly > 0, 'the commands include usage dated before the account');
    });
  });
}
