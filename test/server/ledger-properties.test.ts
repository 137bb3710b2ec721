/**
 * Model-based property test of the Ledger over every store: a random sequence
 * of commands is run against the real Ledger and against a small model of its
 * rules (plan first, then packages oldest first, then overage; one charge per
 * key; one usage per call id; a charge that waits for the customer's bank
 * answers 202 and is credited once — by a retry, the processor's webhook or
 * the recovery, whichever comes first — or ends `failed` with its key free
 * again; a refund voids what remained); every answer must equal the model's,
 * so must every account's balance and purchase history after each command,
 * and after each run the ledger's invariants (`assertInvariants`) must hold in
 * what the store's rows add up to (`audit`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type {
  AutoTopupDto,
  BalanceDto,
  PurchaseChangeDto,
  PurchaseDto,
  PurchaseResultDto,
  UsagePageDto,
  UsageResultDto,
} from '../../contract/index.js';
import {
  cycleAt,
  cycleContaining,
  defaultCatalog,
  DomainError,
} from '../../server/domain/index.js';
import type { PurchaseOutcome } from '../../server/ledger/buying.js';
import { Ledger } from '../../server/ledger/ledger.js';
import { autoTopupKey } from '../../server/ledger/auto-topup.js';
import { AUTHENTICATION_NEEDED, chargeKeyOf, refundKeyOf } from '../../server/payments/gateway.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';
import { MemoryStore } from '../../server/store/memory.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import type { LedgerAudit, LedgerStore } from '../../server/store/types.js';
import { assertInvariants, storeFactories as contractStores } from '../support/api.js';

const DAY = 86_400_000;

/** One source of stores: each runs the same property. */
const postgres = contractStores.find((f) => f.name === 'postgres');
const storeFactories: {
  name: string;
  open: () => LedgerStore | Promise<LedgerStore>;
  numRuns: number;
}[] = [
  { name: 'MemoryStore', open: () => new MemoryStore(), numRuns: 150 },
  { name: 'SqliteStore(:memory:)', open: () => new SqliteStore(':memory:'), numRuns: 100 },
  // A fresh database emptied before each run; fewer runs (each statement a round trip).
  ...(postgres ? [{ name: 'PostgresStore', open: () => postgres.open(), numRuns: 25 }] : []),
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
      /** Through `ledger.buy` (a 202 is a `conflict` there) rather than `ledger.purchase`. */
      strict: boolean;
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
  /** The account's bank wants the customer to authenticate each charge (or no longer). */
  | { k: 'bank'; acc: number; on: boolean }
  /**
   * The customer authenticates (or fails to) one of the account's waiting
   * charges; then the widget retries, or the server restarts (recovery), or
   * nothing yet.
   */
  | {
      k: 'authenticate';
      acc: number;
      pick: number;
      ok: boolean;
      then: 'retry' | 'recover' | 'none';
      strict: boolean;
    }
  /** The same request again for one of the account's waiting or failed purchases. */
  | { k: 'retry'; acc: number; pick: number; crash: boolean; strict: boolean }
  /** The processor's word on one of the account's payments (`payment_intent.*`), maybe twice. */
  | { k: 'webhook'; acc: number; pick: number; kind: 'succeeded' | 'failed'; dup: boolean }
  /** The processor refunded one of the account's credited purchases (`charge.refunded`), maybe twice. */
  | { k: 'refund'; acc: number; pick: number; dup: boolean }
  /**
   * An operator grants free minutes under a fresh key, or again under an
   * earlier key of the account (a grant's or a purchase's), with the same
   * figures or others.
   */
  | { k: 'grant'; acc: number; minutes: number; repeat: number | null; same: boolean }
  /**
   * An operator refunds one of the account's purchases (or grants) under a
   * fresh key, or repeats an earlier refund's key; the processor may be away.
   */
  | { k: 'opRefund'; acc: number; pick: number; repeat: boolean; down: boolean }
  /** The account's auto top-up set (a PUT): on or off, its threshold, package and limit. */
  | {
      k: 'auto';
      acc: number;
      on: boolean;
      threshold: number;
      pkg: (typeof PACKAGES)[number];
      limit: number;
      /** Calls of a minute the account makes right after. */
      calls: number;
    }
  | { k: 'recover' };

/** An account: the first (which every run creates) half the time. */
const accIx = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: ACCOUNTS.length - 1 }));
const pick = fc.option(fc.nat(50), { freq: 2 });
const rarely = fc.integer({ min: 0, max: 7 }).map((n) => n === 0);
const sometimes = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);
const mostly = fc.integer({ min: 0, max: 2 }).map((n) => n > 0);
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
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('buy' as const),
      acc: accIx,
      pkg: fc.constantFrom(...PACKAGES),
      repeat: pick,
      samePackage: fc.boolean(),
      crash: rarely,
      strict: sometimes,
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
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('bank' as const), acc: accIx, on: mostly }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('authenticate' as const),
      acc: accIx,
      pick: fc.nat(50),
      ok: fc.boolean(),
      then: fc.constantFrom(
        'retry' as const,
        'retry' as const,
        'recover' as const,
        'none' as const,
      ),
      strict: sometimes,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('retry' as const),
      acc: accIx,
      pick: fc.nat(50),
      crash: rarely,
      strict: sometimes,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('webhook' as const),
      acc: accIx,
      pick: fc.nat(50),
      kind: fc.constantFrom('succeeded' as const, 'failed' as const),
      dup: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('refund' as const),
      acc: accIx,
      pick: fc.nat(50),
      dup: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('grant' as const),
      acc: accIx,
      minutes: fc.integer({ min: 1, max: 300 }),
      repeat: pick,
      same: mostly,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('opRefund' as const),
      acc: accIx,
      pick: fc.nat(50),
      repeat: sometimes,
      down: sometimes,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('auto' as const),
      acc: accIx,
      on: mostly,
      // Often more than a plan and a few packages hold: every call then reaches it.
      threshold: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 3_000, max: 9_000 })),
      pkg: fc.constantFrom(...PACKAGES),
      limit: fc.constantFrom(1, 1, 2),
      calls: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'recover' as const }) },
);

const scenario = fc.record({
  start: fc.constantFrom(...STARTS),
  firstPlan: fc.constantFrom(...PLANS),
  /** The accounts whose bank asks the customer to authenticate from the start. */
  banks: fc
    .tuple(mostly, fc.subarray([1, 2]))
    .map(([first, others]) => (first ? [0, ...others] : others)),
  commands: fc.array(cmd, { minLength: 1, maxLength: 40, size: 'max' }),
});
type Scenario = {
  start: string;
  firstPlan: (typeof PLANS)[number];
  banks: number[];
  commands: Cmd[];
};

// ---------------------------------------------------------------- the model

interface ModelAccount {
  planId: string;
  anchorMs: number;
  /** When the ledger created it: no usage may be dated before this or the anchor. */
  createdAtMs: number;
  /** The largest allowance the account has held: plan used in a cycle may not exceed it. */
  maxAllowanceSeconds: number;
  /** Credited purchases, oldest first, as the ledger draws them. */
  purchases: ModelPurchase[];
  cycles: Map<number, ModelCycle>;
  keys: string[];
  /** The keys of the operators' grants and refunds of the account. */
  operatorKeys: string[];
  calls: string[];
  /** The ledger version: one more with each usage, credit, refund and plan change. */
  version: number;
  /** Auto top-up, once set; the counts are those of `cycleStart`'s cycle. */
  auto?: {
    enabled: boolean;
    thresholdMinutes: number;
    packageId: string;
    monthlyLimit: number;
    status: 'active' | 'paused';
    reason?: string;
    cycleStart: number;
    count: number;
    seq: number;
  };
}

interface ModelPurchase {
  id: string;
  /** A package's id, or `grant`. */
  packageId: string;
  kind: 'package' | 'grant';
  /** A grant's minutes and reason. */
  grant?: { minutes: number; reason: string };
  purchasedAtMs: number;
  totalSeconds: number;
  remainingSeconds: number;
  /** What a refund voided (what remained then); null unless refunded. */
  refundedSeconds: number | null;
  /** The money a refund returned, and when. */
  refundMinor?: number;
  refundedAtMs?: number;
  /** The gateway's reference of the charge that paid it. */
  ref: string;
}

/** A grant (its figures) or a refund (its purchase; `result` once paid back) under an operator's key. */
type ModelOperation =
  | { kind: 'grant'; minutes: number; reason: string; result: PurchaseChangeDto }
  | {
      kind: 'refund';
      accountId: string;
      key: string;
      purchaseId: string;
      minor: number;
      result: PurchaseChangeDto | null;
    };

interface ModelCycle {
  planUsedSeconds: number;
  extraUsedSeconds: number;
  overageSeconds: number;
  topupCount: number;
  topupSpendMinor: number;
}

interface ModelIntent {
  accountId: string;
  key: string;
  packageId: string;
  /**
   * charged: charged but not credited (a crash); waiting: answered 202, the
   * charge waits for the customer's bank; failed: its payment failed after a
   * 202 (listed as `failed`, the key free for a new attempt); done: credited.
   * (A declined attempt that never answered 202 leaves no intent.)
   */
  state: 'charged' | 'waiting' | 'failed' | 'done';
  /** When the intent was recorded (a 202's `purchasedAt`, kept across attempts). */
  createdAtMs: number;
  /** The purchase id announced with the first 202 (kept across attempts), else given at the credit. */
  purchaseId: string | null;
  /** The gateway's reference of the current attempt's charge, once known. */
  ref: string | null;
  /** Where the gateway stands on a waiting charge: not answered yet, authenticated, or not. */
  bank: 'awaiting' | 'approved' | 'declined';
  /** The references of the attempts whose payment failed after a 202. */
  failedRefs: string[];
  result?: PurchaseResultDto;
}

/** How often the run reached the paths of the waiting payments (checked to be reached at all). */
interface Stats {
  refusedEarly: number;
  accepted202: number;
  creditedByRetry: number;
  creditedByWebhook: number;
  creditedByRecovery: number;
  failedAfter202: number;
  newAttemptAfterFailure: number;
  staleFailure: number;
  refunds: number;
  usageAfterRefund: number;
  grants: number;
  grantReplays: number;
  operatorRefunds: number;
  refundsOwed: number;
  refundsRefused: number;
  autoSettings: number;
  autoBought: number;
  autoPaused: number;
  autoAtLimit: number;
  autoResumedByPurchase: number;
}

const noStats = (): Stats => ({
  refusedEarly: 0,
  accepted202: 0,
  creditedByRetry: 0,
  creditedByWebhook: 0,
  creditedByRecovery: 0,
  failedAfter202: 0,
  newAttemptAfterFailure: 0,
  staleFailure: 0,
  refunds: 0,
  usageAfterRefund: 0,
  grants: 0,
  grantReplays: 0,
  operatorRefunds: 0,
  refundsOwed: 0,
  refundsRefused: 0,
  autoSettings: 0,
  autoBought: 0,
  autoPaused: 0,
  autoAtLimit: 0,
  autoResumedByPurchase: 0,
});

const iso = (ms: number) => new Date(ms).toISOString();
const planOf = (id: string) => defaultCatalog.plans.find((p) => p.id === id)!;
const packageOf = (id: string) => defaultCatalog.packages.find((p) => p.id === id)!;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const intentKey = (accountId: string, key: string) => `${accountId}\u0000${key}`;
/** Byte order, as the stores order idempotency keys (all ASCII here). */
const byteOrder = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

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

/** The package as a purchase shows it: what it was bought for. */
function packageFields(packageId: string) {
  const pkg = packageOf(packageId);
  return {
    packageId: pkg.id,
    kind: 'package' as const,
    name: pkg.name,
    minutes: pkg.minutes,
    priceMinor: pkg.priceMinor,
    currency: defaultCatalog.currency,
    totalSeconds: pkg.minutes * 60,
  };
}

class Model {
  now: number;
  readonly accounts = new Map<string, ModelAccount>();
  /** In the order they were recorded (as the stores list pending intents, by creation time). */
  readonly intents = new Map<string, ModelIntent>();
  readonly usages = new Map<
    string,
    { accountId: string; seconds: number; occurredAtMs: number; result: UsageResultDto }
  >();
  readonly declining = new Set<string>();
  readonly authenticating = new Set<string>();
  /** The operators' grants and refunds, by account and key. */
  readonly operations = new Map<string, ModelOperation>();
  /** The money refunds paid back, by purchase (refunds owed are not here yet). */
  readonly refundsPaid = new Map<string, number>();
  /** Purchase ids given out (`newId`): at a credit, or with a purchase's first 202. */
  ids = 0;
  /** Charges the gateway made: at once, or when the customer authenticated. */
  charges = 0;
  readonly stats = noStats();

  constructor(now: number) {
    this.now = now;
  }

  nextId(): string {
    return `pur_${++this.ids}`;
  }

  intentsOf(accountId: string): ModelIntent[] {
    return [...this.intents.values()].filter((i) => i.accountId === accountId);
  }

  /** One of the account's intents that `fits` (by `pick`), else one of any account's. */
  among(accountId: string, pick: number, fits: (i: ModelIntent) => boolean) {
    const own = this.intentsOf(accountId).filter(fits);
    const any = own.length > 0 ? own : [...this.intents.values()].filter(fits);
    return any.length > 0 ? any[pick % any.length] : undefined;
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
      version: a.version,
    };
  }

  /** A purchase whose payment waits (or failed after a 202), as the ledger shows it: no minutes. */
  awaitingDto(i: ModelIntent): PurchaseDto {
    return {
      id: i.purchaseId!,
      ...packageFields(i.packageId),
      purchasedAt: iso(i.createdAtMs),
      remainingSeconds: 0,
      status: i.state === 'failed' ? 'failed' : 'requires_action',
    };
  }

  purchaseDto(p: ModelPurchase): PurchaseDto {
    return {
      id: p.id,
      ...(p.grant
        ? {
            packageId: 'grant',
            kind: 'grant' as const,
            reason: p.grant.reason,
            name: 'Grant',
            minutes: p.grant.minutes,
            priceMinor: 0,
            currency: defaultCatalog.currency,
            totalSeconds: p.totalSeconds,
          }
        : packageFields(p.packageId)),
      purchasedAt: iso(p.purchasedAtMs),
      remainingSeconds: p.remainingSeconds,
      ...(p.refundedSeconds === null
        ? { status: p.remainingSeconds > 0 ? ('active' as const) : ('used' as const) }
        : {
            status: 'refunded' as const,
            refundedSeconds: p.refundedSeconds,
            refundMinor: p.refundMinor!,
            refundedAt: iso(p.refundedAtMs!),
          }),
    };
  }

  /** A refund paid back: its answer, as of now. */
  paid(op: Extract<ModelOperation, { kind: 'refund' }>): PurchaseChangeDto {
    const a = this.accounts.get(op.accountId)!;
    const p = a.purchases.find((x) => x.id === op.purchaseId)!;
    if (op.minor > 0) this.refundsPaid.set(op.purchaseId, op.minor);
    op.result = { purchase: this.purchaseDto(p), balance: this.balance(op.accountId) };
    return op.result;
  }

  /** Voids what remains of a purchase, returning `minor`: the version grows, the spend of its cycle drops. */
  void(a: ModelAccount, p: ModelPurchase, minor: number): void {
    p.refundedSeconds = p.remainingSeconds;
    p.remainingSeconds = 0;
    p.refundMinor = minor;
    p.refundedAtMs = this.now;
    a.version += 1;
    if (minor > 0) this.cycle(a, p.purchasedAtMs).topupSpendMinor -= minor;
  }

  /**
   * The account's history, newest first: the waiting and failed purchases
   * (newest recorded first, then by key) merged by time with the credited
   * ones (newest credited first); at the same time the waiting ones first.
   */
  listPurchases(accountId: string): PurchaseDto[] {
    const a = this.accounts.get(accountId)!;
    const awaiting = this.intentsOf(accountId)
      .filter((i) => i.state === 'waiting' || i.state === 'failed')
      .sort((x, y) => y.createdAtMs - x.createdAtMs || byteOrder(y.key, x.key))
      .map((i) => this.awaitingDto(i));
    const credited = [...a.purchases].reverse().map((p) => this.purchaseDto(p));
    return [...awaiting, ...credited].sort(
      (x, y) => Date.parse(y.purchasedAt) - Date.parse(x.purchasedAt),
    );
  }

  /** The payment of a waiting intent failed: listed `failed`, its key free for a new attempt. */
  fail(intent: ModelIntent): void {
    assert.equal(intent.state, 'waiting');
    intent.state = 'failed';
    intent.failedRefs.push(intent.ref!);
    this.stats.failedAfter202 += 1;
  }

  /**
   * Credits a paid intent (its `ref` known): the id announced with its 202 or
   * the next one, minutes at the end of the FIFO queue.
   */
  credit(accountId: string, key: string): PurchaseResultDto {
    const a = this.accounts.get(accountId)!;
    // A purchase by hand resumes a paused auto top-up.
    if (!key.startsWith('auto top-up ') && a.auto?.status === 'paused') {
      a.auto.status = 'active';
      a.auto.reason = undefined;
      this.stats.autoResumedByPurchase += 1;
    }
    const intent = this.intents.get(intentKey(accountId, key))!;
    assert.ok(intent.ref, `model: crediting ${key} without a charge`);
    const pkg = packageOf(intent.packageId);
    const id = intent.purchaseId ?? this.nextId();
    const totalSeconds = pkg.minutes * 60;
    const purchase: ModelPurchase = {
      id,
      packageId: pkg.id,
      kind: 'package',
      purchasedAtMs: this.now,
      totalSeconds,
      remainingSeconds: totalSeconds,
      refundedSeconds: null,
      ref: intent.ref,
    };
    a.purchases.push(purchase);
    a.version += 1;
    const c = this.cycle(a, this.now);
    c.topupCount += 1;
    c.topupSpendMinor += pkg.priceMinor;
    const result: PurchaseResultDto = {
      purchase: this.purchaseDto(purchase),
      balance: this.balance(accountId),
    };
    intent.state = 'done';
    intent.purchaseId = id;
    intent.result = result;
    return result;
  }

  /** The auto top-up settings as `GET …/auto-topup` answers them now. */
  autoDto(accountId: string): AutoTopupDto {
    const a = this.accounts.get(accountId)!;
    const auto = a.auto;
    if (!auto) {
      return {
        enabled: false,
        thresholdMinutes: 30,
        packageId: 'medium',
        monthlyLimit: 3,
        status: 'active',
        cycleCount: 0,
      };
    }
    const cycle = cycleContaining(a.anchorMs, this.now).start;
    return {
      enabled: auto.enabled,
      thresholdMinutes: auto.thresholdMinutes,
      packageId: auto.packageId,
      monthlyLimit: auto.monthlyLimit,
      status: auto.status,
      ...(auto.status === 'paused' && auto.reason ? { pausedReason: auto.reason } : {}),
      cycleCount: auto.cycleStart === cycle ? auto.count : 0,
    };
  }

  /** Plan of the cycle first, then packages oldest first (never a refunded one), then overage. */
  use(accountId: string, callId: string, seconds: number, occurredAtMs: number): UsageResultDto {
    const a = this.accounts.get(accountId)!;
    const c = this.cycle(a, occurredAtMs);
    const allowance = planOf(a.planId).monthlyMinutes * 60;
    const fromPlanSeconds = Math.min(seconds, Math.max(0, allowance - c.planUsedSeconds));
    let left = seconds - fromPlanSeconds;
    // Beyond the plan, with minutes a refund voided: none of them may be drawn.
    if (left > 0 && a.purchases.some((p) => (p.refundedSeconds ?? 0) > 0)) {
      this.stats.usageAfterRefund += 1;
    }
    const fromExtra: { purchaseId: string; seconds: number }[] = [];
    for (const p of a.purchases) {
      if (left === 0) break;
      if (p.refundedSeconds !== null) {
        assert.equal(p.remainingSeconds, 0, 'model: a refunded purchase holds nothing');
        continue;
      }
      const take = Math.min(left, p.remainingSeconds);
      if (take === 0) continue;
      p.remainingSeconds -= take;
      left -= take;
      fromExtra.push({ purchaseId: p.id, seconds: take });
    }
    c.planUsedSeconds += fromPlanSeconds;
    c.extraUsedSeconds += sum(fromExtra.map((x) => x.seconds));
    c.overageSeconds += left;
    a.version += 1;
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

/** Runs one scenario; returns how often it reached the paths counted in `Stats`. */
async function run(store: LedgerStore, s: Scenario): Promise<Stats> {
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
  const commands: Cmd[] = [
    { k: 'put', acc: 0, plan: s.firstPlan, anchor: null },
    ...s.banks.map((acc): Cmd => ({ k: 'bank', acc, on: true })),
    ...s.commands,
  ];

  /**
   * What a usage leaving `balance` does to auto top-up: at or below the
   * threshold, active, under the cycle's limit — one package bought (charged
   * and credited), or on a decline (a card refused, or a bank that wants the
   * absent customer to authenticate) a pause with the reason.
   */
  const autoTopupAfter = async (id: string, balance: BalanceDto) => {
    const a = model.accounts.get(id)!;
    const auto = a.auto;
    if (!auto?.enabled || auto.status !== 'active') return;
    const left = balance.plan.remainingSeconds + balance.extra.remainingSeconds;
    if (left > auto.thresholdMinutes * 60) return;
    const cycle = cycleContaining(a.anchorMs, model.now).start;
    const same = auto.cycleStart === cycle;
    const count = same ? auto.count : 0;
    auto.cycleStart = cycle;
    auto.count = count;
    auto.seq = same ? auto.seq : 0;
    if (count >= auto.monthlyLimit) {
      model.stats.autoAtLimit += 1;
      return;
    }
    auto.seq += 1;
    if (model.declining.has(id) || model.authenticating.has(id)) {
      auto.status = 'paused';
      auto.reason = model.declining.has(id) ? 'The card was declined.' : AUTHENTICATION_NEEDED;
      a.version += 1;
      model.stats.autoPaused += 1;
      return;
    }
    auto.count = count + 1;
    const key = autoTopupKey(cycle, auto.seq);
    model.charges += 1;
    model.intents.set(intentKey(id, key), {
      accountId: id,
      key,
      packageId: auto.packageId,
      state: 'charged',
      createdAtMs: model.now,
      purchaseId: null,
      ref: await chargedRef(id, key),
      bank: 'awaiting',
      failedRefs: [],
    });
    model.credit(id, key);
    model.stats.autoBought += 1;
  };

  /** The reference of the charge the gateway made at once under the account's key. */
  const chargedRef = async (id: string, key: string) => {
    const charge = gateway.charges.get(await chargeKeyOf(id, key));
    assert.ok(charge, `no charge recorded for ${id}/${key}`);
    return charge.reference;
  };

  /** Asks for a purchase: `ledger.buy` when strict (a 202 is its `conflict`), else `ledger.purchase`. */
  const ask = async (
    id: string,
    packageId: string,
    key: string,
    strict: boolean,
  ): Promise<PurchaseOutcome | 'conflict'> => {
    if (!strict) return ledger.purchase(id, packageId, key);
    try {
      return { status: 201, body: await ledger.buy(id, packageId, key) };
    } catch (e) {
      if (e instanceof DomainError && e.code === 'conflict') return 'conflict';
      throw e;
    }
  };

  /**
   * A 202 for the waiting intent, as the ledger must answer it: `ledger.purchase`
   * answers it; `ledger.buy` (strict) refuses it as a conflict, and only it.
   */
  const expect202 = (
    outcome: PurchaseOutcome | 'conflict',
    intent: ModelIntent,
    strict: boolean,
  ) => {
    assert.equal(
      outcome === 'conflict',
      strict,
      `a waiting payment is a conflict exactly when strict (strict: ${strict})`,
    );
    if (outcome === 'conflict') return;
    assert.deepEqual(outcome, {
      status: 202,
      body: { purchase: model.awaitingDto(intent), clientSecret: `${intent.ref}_secret` },
    });
  };

  /** A payment refused: 402 `payment_declined`, and nothing credited, counted or charged. */
  const expectDeclined = async (id: string, packageId: string, key: string, strict: boolean) => {
    const before = await store.audit();
    const balance = await ledger.balance(id);
    await assert.rejects(ask(id, packageId, key, strict), isDomain('payment_declined'));
    assert.deepEqual(await store.audit(), before);
    assert.deepEqual(await ledger.balance(id), balance);
  };

  /** Buys `packageId` under an account's key (the account exists), as the model predicts. */
  const buyKey = async (
    id: string,
    key: string,
    packageId: string,
    crash: boolean,
    strict: boolean,
  ): Promise<void> => {
    const a = model.accounts.get(id)!;
    const mkey = intentKey(id, key);
    const intent = model.intents.get(mkey);
    const chargesBefore = gateway.chargeCount;
    if (model.operations.has(mkey)) {
      // An operator's grant or refund holds the key: refused, nothing charged.
      await assert.rejects(ask(id, packageId, key, strict), isDomain('idempotency_key_reused'));
    } else if (intent && intent.packageId !== packageId) {
      // Another purchase under the key, even one that failed: refused.
      await assert.rejects(ask(id, packageId, key, strict), isDomain('idempotency_key_reused'));
    } else if (intent?.state === 'done') {
      // A repeat returns the first result, charges nothing and changes nothing.
      assert.deepEqual(await ask(id, packageId, key, strict), { status: 201, body: intent.result });
    } else if (intent?.state === 'waiting' && intent.bank === 'awaiting') {
      // Still waiting for the customer: the same 202, nothing credited.
      expect202(await ask(id, packageId, key, strict), intent, strict);
    } else if (intent?.state === 'waiting' && intent.bank === 'declined') {
      // The customer did not authenticate: 402, the purchase listed `failed`, its key free.
      await expectDeclined(id, packageId, key, strict);
      model.fail(intent);
    } else if (intent?.state === 'waiting' || intent?.state === 'charged') {
      // Authenticated meanwhile (charged then), or charged before a crash: credited, not charged again.
      if (intent.state === 'waiting') model.stats.creditedByRetry += 1;
      const expected = model.credit(id, key);
      assert.deepEqual(await ask(id, packageId, key, strict), { status: 201, body: expected });
    } else if (model.declining.has(id)) {
      // A declined purchase changes nothing: no charge, no minutes, no counters.
      await expectDeclined(id, packageId, key, strict);
      // Nothing was charged: the attempt (a failed one with it) is forgotten, its key free again.
      model.intents.delete(mkey);
      if (!a.keys.includes(key)) a.keys.push(key);
    } else {
      // A new attempt: of a fresh key, or of one whose payment failed after a 202.
      if (intent) {
        assert.equal(intent.state, 'failed');
        model.stats.newAttemptAfterFailure += 1;
      }
      const current: ModelIntent = intent ?? {
        accountId: id,
        key,
        packageId,
        state: 'charged',
        createdAtMs: model.now,
        purchaseId: null,
        ref: null,
        bank: 'awaiting',
        failedRefs: [],
      };
      if (!intent) {
        model.intents.set(mkey, current);
        a.keys.push(key);
      }
      const previousRef = current.ref;
      if (model.authenticating.has(id)) {
        // The bank wants the customer: 202 with a new charge waiting, the purchase id announced.
        const outcome = await ask(id, packageId, key, strict);
        const row = await store.transact((tx) => tx.findIntent(id, key));
        assert.ok(row?.paymentRef, 'a 202 keeps the reference of the waiting charge');
        assert.notEqual(row.paymentRef, previousRef, 'a new attempt is a new charge');
        current.state = 'waiting';
        current.bank = 'awaiting';
        current.ref = row.paymentRef;
        current.purchaseId ??= model.nextId();
        expect202(outcome, current, strict);
        model.stats.accepted202 += 1;
      } else if (crash) {
        // The process dies after the charge and before the minutes are credited.
        gateway.onCharge = () => {
          throw new Error('simulated crash after the charge');
        };
        try {
          await assert.rejects(ask(id, packageId, key, strict), /simulated crash/);
        } finally {
          gateway.onCharge = undefined;
        }
        model.charges += 1;
        current.state = 'charged';
        current.ref = await chargedRef(id, key);
      } else {
        model.charges += 1;
        const outcome = await ask(id, packageId, key, strict);
        current.state = 'charged';
        current.ref = await chargedRef(id, key);
        assert.deepEqual(outcome, { status: 201, body: model.credit(id, key) });
      }
    }
    assert.equal(gateway.chargeCount, model.charges, 'no charge without minutes, none twice');
    assert.ok(gateway.chargeCount - chargesBefore <= 1);
  };

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
          if (existing.planId !== c.plan) existing.version += 1;
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
            operatorKeys: [],
            calls: [],
            version: 0,
          });
        }
        break;
      }

      case 'buy': {
        const id = ACCOUNTS[c.acc];
        const a = model.accounts.get(id);
        if (!a) {
          await assert.rejects(
            ask(id, c.pkg, `k${++fresh}`, c.strict),
            isDomain('account_not_found'),
          );
          break;
        }
        const key =
          c.repeat !== null && a.keys.length > 0 ? a.keys[c.repeat % a.keys.length] : `k${++fresh}`;
        const intent = model.intents.get(intentKey(id, key));
        const packageId = intent && c.samePackage ? intent.packageId : c.pkg;
        await buyKey(id, key, packageId, c.crash, c.strict);
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
          model.stats.refusedEarly += 1;
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
        // The auto top-up this usage queued, charged after its answer.
        await ledger.autoTopupsSettled();
        await autoTopupAfter(id, expected.balance);
        break;
      }

      case 'auto': {
        const id = ACCOUNTS[c.acc];
        const a = model.accounts.get(id);
        const request = {
          enabled: c.on,
          thresholdMinutes: c.threshold,
          packageId: c.pkg,
          monthlyLimit: c.limit,
        };
        if (!a) {
          await assert.rejects(ledger.putAutoTopup(id, request), isDomain('account_not_found'));
          break;
        }
        a.auto = {
          ...request,
          status: 'active',
          cycleStart: a.auto?.cycleStart ?? 0,
          count: a.auto?.count ?? 0,
          seq: a.auto?.seq ?? 0,
        };
        a.version += 1;
        model.stats.autoSettings += 1;
        assert.deepEqual(await ledger.putAutoTopup(id, request), model.autoDto(id));
        for (let i = 0; i < c.calls; i += 1) {
          const callId = `c${++fresh}`;
          const expected = model.use(id, callId, 60, model.now);
          assert.deepEqual(await ledger.recordUsage(id, callId, 60), expected);
          await ledger.autoTopupsSettled();
          await autoTopupAfter(id, expected.balance);
        }
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

      case 'bank':
        gateway.setRequiresAction(ACCOUNTS[c.acc], c.on);
        if (c.on) model.authenticating.add(ACCOUNTS[c.acc]);
        else model.authenticating.delete(ACCOUNTS[c.acc]);
        break;

      case 'authenticate': {
        const intent = model.among(
          ACCOUNTS[c.acc],
          c.pick,
          (i) => i.state === 'waiting' && i.bank === 'awaiting',
        );
        if (!intent) break;
        const id = intent.accountId;
        gateway.authenticate(`${intent.ref}_secret`, c.ok);
        intent.bank = c.ok ? 'approved' : 'declined';
        if (c.ok) model.charges += 1; // the charge is made when the customer authenticates
        // Then the widget retries the same request, or the server restarts first.
        if (c.then === 'retry') await buyKey(id, intent.key, intent.packageId, false, c.strict);
        if (c.then === 'recover') await recover(ledger, model);
        break;
      }

      case 'retry': {
        const intent = model.among(
          ACCOUNTS[c.acc],
          c.pick,
          (i) => i.state === 'waiting' || i.state === 'failed',
        );
        if (!intent) break;
        await buyKey(intent.accountId, intent.key, intent.packageId, c.crash, c.strict);
        break;
      }

      case 'webhook': {
        const eventId = `evt_${++fresh}`;
        // A payment the processor may speak of: an intent's current charge, or an attempt that failed before.
        const payments = (accountId: string | null) =>
          [...model.intents.values()]
            .filter((i) => accountId === null || i.accountId === accountId)
            .flatMap((intent) =>
              [...(intent.ref ? [intent.ref] : []), ...intent.failedRefs]
                .filter((ref, n, refs) => refs.indexOf(ref) === n)
                .map((ref) => ({ intent, ref })),
            );
        const own = payments(ACCOUNTS[c.acc]);
        const candidates = own.length > 0 ? own : payments(null);
        // A third of the time an earlier, failed attempt when there is one:
        // late failures are rare otherwise, and a run of the file might miss them.
        const stale = candidates.filter((p) => p.ref !== p.intent.ref);
        const pool = stale.length > 0 && c.pick % 3 === 0 ? stale : candidates;
        const chosen = pool.length > 0 ? pool[c.pick % pool.length] : null;
        const id = chosen?.intent.accountId ?? ACCOUNTS[c.acc];
        const send = async (
          kind: 'succeeded' | 'failed',
          purchaseKey: string,
          paymentRef: string,
        ) => {
          // The attempt the payment was made for: the intent's own when it is its
          // payment of now (Stripe's metadata carries it), another one's else.
          const stored = await store.transact((tx) => tx.findIntent(id, purchaseKey));
          const current = stored?.paymentRef === paymentRef || stored?.paymentRef === null;
          const attempt = current && stored ? stored.attempt : 'an-earlier-attempt';
          const event = { eventId, accountId: id, purchaseKey, paymentRef, attempt };
          return kind === 'succeeded'
            ? ledger.payments.paymentSucceeded({ ...event, type: 'payment_intent.succeeded' })
            : ledger.payments.paymentFailed({ ...event, type: 'payment_intent.payment_failed' });
        };
        const before = await store.audit();
        if (!chosen) {
          // About a payment the ledger does not know: nothing changes.
          const key = `k${++fresh}`;
          const ref = `test_pi_unknown_${fresh}`;
          assert.equal(
            await send(c.kind, key, ref),
            c.kind === 'succeeded' ? 'unknown' : 'applied',
          );
          if (c.dup) assert.equal(await send(c.kind, key, ref), 'duplicate');
          assert.deepEqual(await store.audit(), before);
          break;
        }
        const { intent, ref } = chosen;
        if (ref !== intent.ref) {
          // The failure of an earlier attempt, late: the purchase (its new attempt) is not touched.
          model.stats.staleFailure += 1;
          assert.equal(await send('failed', intent.key, ref), 'applied');
          if (c.dup) assert.equal(await send('failed', intent.key, ref), 'duplicate');
          assert.deepEqual(await store.audit(), before);
          break;
        }
        // The customer answers the bank now, if not yet: `kind` decides how.
        if (intent.state === 'waiting' && intent.bank === 'awaiting') {
          gateway.authenticate(`${ref}_secret`, c.kind === 'succeeded');
          intent.bank = c.kind === 'succeeded' ? 'approved' : 'declined';
          if (c.kind === 'succeeded') model.charges += 1;
        }
        // The processor says what its gateway knows.
        const paid =
          intent.state !== 'failed' && !(intent.state === 'waiting' && intent.bank === 'declined');
        if (paid) {
          const credits = intent.state !== 'done';
          if (credits) {
            model.credit(id, intent.key);
            model.stats.creditedByWebhook += 1;
          }
          assert.equal(await send('succeeded', intent.key, ref), 'applied');
          if (!credits) assert.deepEqual(await store.audit(), before, 'a replayed success');
        } else {
          if (intent.state === 'waiting') model.fail(intent);
          assert.equal(await send('failed', intent.key, ref), 'applied');
          assert.deepEqual(await store.audit(), before, 'a failure credits nothing');
        }
        if (c.dup) {
          const once = await store.audit();
          assert.equal(await send(paid ? 'succeeded' : 'failed', intent.key, ref), 'duplicate');
          assert.deepEqual(await store.audit(), once, 'an event applies once');
        }
        // The customer's retry after the webhook replays the credit.
        if (paid) await buyKey(id, intent.key, intent.packageId, false, false);
        break;
      }

      case 'refund': {
        // One of the account's purchases, else of any account's.
        const a =
          [model.accounts.get(ACCOUNTS[c.acc]), ...model.accounts.values()].find(
            (x) => x && x.purchases.length > 0,
          ) ?? null;
        const id = a ? [...model.accounts].find(([, x]) => x === a)![0] : ACCOUNTS[c.acc];
        const eventId = `evt_${++fresh}`;
        const send = (paymentRef: string) =>
          ledger.payments.paymentRefunded({ eventId, type: 'charge.refunded', paymentRef });
        if (!a) {
          // A refund of a payment the ledger does not know: nothing changes.
          const before = await store.audit();
          const ref = `test_ch_unknown_${++fresh}`;
          assert.equal(await send(ref), 'unknown');
          if (c.dup) assert.equal(await send(ref), 'duplicate');
          assert.deepEqual(await store.audit(), before);
          break;
        }
        const p = a.purchases[c.pick % a.purchases.length];
        const row = (await store.transact((tx) => tx.listPurchases(id))).find((r) => r.id === p.id);
        assert.ok(row, `purchase ${p.id} stored`);
        assert.equal(row.paymentRef, p.ref, `purchase ${p.id} paid by its charge`);
        if (p.kind === 'grant') {
          // A grant was not paid: no processor speaks of it.
          break;
        }
        if (p.refundedSeconds === null) {
          // What remained is voided; what was used stays used; the whole price came back.
          model.void(a, p, packageOf(p.packageId).priceMinor);
          model.stats.refunds += 1;
        }
        assert.equal(await send(row.paymentRef), 'applied');
        if (c.dup) {
          const once = await store.audit();
          assert.equal(await send(row.paymentRef), 'duplicate');
          assert.deepEqual(await store.audit(), once, 'an event applies once');
        }
        assertInvariants(await store.audit());
        break;
      }

      case 'grant': {
        const id = ACCOUNTS[c.acc];
        const a = model.accounts.get(id);
        const reason = `goodwill, call ${c.minutes}`;
        if (!a) {
          await assert.rejects(
            ledger.grant(id, c.minutes, reason, `g${++fresh}`),
            isDomain('account_not_found'),
          );
          break;
        }
        // An earlier key of the account (a purchase's, a grant's or a refund's), or a fresh one.
        const earlier = [...a.keys, ...a.operatorKeys];
        const key =
          c.repeat === null || earlier.length === 0
            ? `g${++fresh}`
            : earlier[c.repeat % earlier.length];
        const op = model.operations.get(intentKey(id, key));
        if (op?.kind === 'grant' && c.same) {
          // The same grant again: its first answer, nothing granted twice.
          const before = await store.audit();
          assert.deepEqual(await ledger.grant(id, op.minutes, op.reason, key), op.result);
          assert.deepEqual(await store.audit(), before);
          model.stats.grantReplays += 1;
          break;
        }
        if (op || model.intents.has(intentKey(id, key))) {
          // A key that named another grant, a refund or a purchase: 422, nothing changes.
          const before = await store.audit();
          const minutes = op?.kind === 'grant' ? op.minutes + 1 : c.minutes;
          await assert.rejects(
            ledger.grant(id, minutes, reason, key),
            isDomain('idempotency_key_reused'),
          );
          assert.deepEqual(await store.audit(), before);
          break;
        }
        const p: ModelPurchase = {
          id: model.nextId(),
          packageId: 'grant',
          kind: 'grant',
          grant: { minutes: c.minutes, reason },
          purchasedAtMs: model.now,
          totalSeconds: c.minutes * 60,
          remainingSeconds: c.minutes * 60,
          refundedSeconds: null,
          ref: '',
        };
        a.purchases.push(p);
        a.version += 1;
        const result = { purchase: model.purchaseDto(p), balance: model.balance(id) };
        assert.deepEqual(await ledger.grant(id, c.minutes, reason, key), result);
        model.operations.set(intentKey(id, key), {
          kind: 'grant',
          minutes: c.minutes,
          reason,
          result,
        });
        a.operatorKeys.push(key);
        model.stats.grants += 1;
        break;
      }

      case 'opRefund': {
        const id = ACCOUNTS[c.acc];
        const a = model.accounts.get(id);
        if (!a) {
          await assert.rejects(
            ledger.refund(id, 'pur_1', `r${++fresh}`),
            isDomain('account_not_found'),
          );
          break;
        }
        gateway.refundsUnavailable = c.down;
        try {
          const refunds = a.operatorKeys
            .map((k) => model.operations.get(intentKey(id, k))!)
            .filter((o) => o.kind === 'refund');
          if (c.repeat && refunds.length > 0) {
            // The same refund again: paid back now if it was owed, else its first answer.
            const op = refunds[c.pick % refunds.length];
            if (op.result) {
              assert.deepEqual(await ledger.refund(id, op.purchaseId, op.key), op.result);
            } else if (c.down) {
              await assert.rejects(
                ledger.refund(id, op.purchaseId, op.key),
                isDomain('payment_unavailable'),
              );
            } else {
              assert.deepEqual(await ledger.refund(id, op.purchaseId, op.key), model.paid(op));
            }
            break;
          }
          const key = `r${++fresh}`;
          if (a.purchases.length === 0) {
            await assert.rejects(
              ledger.refund(id, 'pur_none', key),
              isDomain('purchase_not_found'),
            );
            break;
          }
          const p = a.purchases[c.pick % a.purchases.length];
          if (p.kind === 'grant' || p.refundedSeconds !== null || p.remainingSeconds === 0) {
            // A grant, a purchase refunded or used up: 409, nothing changes.
            const before = await store.audit();
            await assert.rejects(ledger.refund(id, p.id, key), isDomain('conflict'));
            assert.deepEqual(await store.audit(), before);
            model.stats.refundsRefused += 1;
            break;
          }
          const price = packageOf(p.packageId).priceMinor;
          const minor = Math.floor((price * p.remainingSeconds) / p.totalSeconds);
          model.void(a, p, minor);
          const op = {
            kind: 'refund' as const,
            accountId: id,
            key,
            purchaseId: p.id,
            minor,
            result: null,
          };
          model.operations.set(intentKey(id, key), op);
          a.operatorKeys.push(key);
          model.stats.operatorRefunds += 1;
          if (c.down && minor > 0) {
            // The minutes are voided at once; the money is owed until the processor answers.
            await assert.rejects(ledger.refund(id, p.id, key), isDomain('payment_unavailable'));
            model.stats.refundsOwed += 1;
          } else {
            assert.deepEqual(await ledger.refund(id, p.id, key), model.paid(op));
          }
        } finally {
          gateway.refundsUnavailable = false;
        }
        break;
      }

      case 'recover':
        await recover(ledger, model);
        break;
    }
    await checkReads(ledger, gateway, model);
  }

  // Complete what a crash or a customer left half done, then check the invariants.
  await recover(ledger, model);
  await checkReads(ledger, gateway, model);
  await checkInvariants(ledger, gateway, model, await store.audit());
  return model.stats;
}

/** What every account reads as after each command: balance and history as the model's; the charges. */
async function checkReads(ledger: Ledger, gateway: TestPaymentGateway, model: Model) {
  for (const id of model.accounts.keys()) {
    assert.deepEqual(await ledger.balance(id), model.balance(id), `balance of ${id}`);
    assert.deepEqual(await ledger.listPurchases(id), model.listPurchases(id), `purchases of ${id}`);
    assert.deepEqual(await ledger.autoTopup(id), model.autoDto(id), `auto top-up of ${id}`);
  }
  assert.equal(gateway.chargeCount, model.charges, 'charges made');
}

/**
 * Start-up recovery credits exactly the paid-but-not-credited purchases (a
 * crash after the charge; a customer who authenticated and did not retry), in
 * the order they were recorded; those the customer failed to authenticate end
 * `failed`; those still waiting stay waiting.
 */
async function recover(ledger: Ledger, model: Model): Promise<void> {
  const credited: ModelIntent[] = [];
  for (const intent of model.intents.values()) {
    if (intent.state === 'waiting' && intent.bank === 'declined') model.fail(intent);
    const paid =
      intent.state === 'charged' || (intent.state === 'waiting' && intent.bank === 'approved');
    if (!paid) continue;
    if (intent.state === 'waiting') model.stats.creditedByRecovery += 1;
    model.credit(intent.accountId, intent.key);
    credited.push(intent);
  }
  const owed = [...model.operations.values()].filter(
    (o): o is Extract<ModelOperation, { kind: 'refund' }> => o.kind === 'refund' && !o.result,
  );
  for (const op of owed) model.paid(op);
  assert.equal(await ledger.completePendingPurchases(), credited.length + owed.length);
  for (const op of owed) {
    assert.deepEqual(await ledger.refund(op.accountId, op.purchaseId, op.key), op.result);
  }
  for (const intent of credited) {
    // The stored first result is what a retry with the key now returns.
    assert.deepEqual(await ledger.purchase(intent.accountId, intent.packageId, intent.key), {
      status: 201,
      body: intent.result,
    });
  }
}

async function checkInvariants(
  ledger: Ledger,
  gateway: TestPaymentGateway,
  model: Model,
  audit: LedgerAudit,
): Promise<void> {
  assertInvariants(audit, (id) => model.accounts.get(id)!.maxAllowanceSeconds);

  // Each purchase: total − Σ allocations − refunded = remaining ≥ 0, as the model's.
  for (const p of audit.purchases) {
    assert.ok(p.remainingSeconds >= 0 && p.remainingSeconds <= p.totalSeconds, `purchase ${p.id}`);
    assert.equal(p.totalSeconds - p.allocated - p.refunded, p.remainingSeconds, `purchase ${p.id}`);
  }
  const modelPurchases = [...model.accounts.values()].flatMap((a) => a.purchases);
  assert.deepEqual(
    [...audit.purchases]
      .sort((x, y) => x.id.localeCompare(y.id))
      .map((p) => [p.id, p.totalSeconds, p.remainingSeconds, p.refunded]),
    [...modelPurchases]
      .sort((x, y) => x.id.localeCompare(y.id))
      .map((p) => [p.id, p.totalSeconds, p.remainingSeconds, p.refundedSeconds ?? 0]),
  );

  // Each account: the maintained counters equal what its purchases add up to.
  assert.equal(audit.accounts.length, model.accounts.size);
  for (const a of audit.accounts) {
    assert.equal(a.extraRemainingSeconds, a.sumPurchaseRemaining, `extra of ${a.id}`);
    assert.equal(a.activePackages, a.countActive, `active packages of ${a.id}`);
    const m = model.accounts.get(a.id)!;
    assert.equal(a.extraRemainingSeconds, sum(m.purchases.map((p) => p.remainingSeconds)));
    assert.equal(a.activePackages, m.purchases.filter((p) => p.remainingSeconds > 0).length);
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

  // Conservation of seconds: bought = remaining + drawn + voided by refunds.
  const used = sum([...model.usages.values()].map((u) => u.seconds));
  const fromPlan = sum(audit.usages.map((u) => u.fromPlan));
  const fromExtra = sum(audit.usages.map((u) => u.fromExtra));
  const overage = sum(audit.usages.map((u) => u.overage));
  assert.equal(used, fromPlan + fromExtra + overage);
  assert.equal(
    sum(audit.purchases.map((p) => p.totalSeconds)),
    sum(audit.purchases.map((p) => p.remainingSeconds)) +
      fromExtra +
      sum(audit.purchases.map((p) => p.refunded)),
  );
  assert.equal(sum(audit.purchases.map((p) => p.allocated)), fromExtra);

  // No charge without minutes, no minutes without a charge, none twice — none
  // for a purchase still waiting or failed: each purchase paid by its own charge.
  const done = [...model.intents.values()].filter((i) => i.state === 'done').length;
  assert.equal(audit.purchases.length, done + model.stats.grants);
  assert.equal(gateway.chargeCount, done);
  assert.equal(gateway.charges.size, done);
  const paidBy: string[] = [];
  for (const id of model.accounts.keys()) {
    const rows = (await ledger.store.transact((tx) => tx.listPurchases(id))).filter(
      (r) => r.kind === 'package',
    );
    paidBy.push(...rows.map((r) => r.paymentRef));
    assert.deepEqual(
      rows.map((r) => [r.id, r.paymentRef]).sort(),
      model.accounts
        .get(id)!
        .purchases.filter((p) => p.kind === 'package')
        .map((p) => [p.id, p.ref])
        .sort(),
      `payments of ${id}`,
    );
  }

  // Each refund paid back once, of the unused share, for the payment of its purchase.
  assert.deepEqual(
    [...gateway.refunds.values()]
      .map((r) => [r.idempotencyKey, r.purchaseId, r.amountMinor])
      .sort(),
    [...model.refundsPaid].map(([id, minor]) => [refundKeyOf(id), id, minor]).sort(),
    'refunds paid',
  );

  // Every call traced to its sources, page by page, newest first, each once.
  for (const [id, a] of model.accounts) {
    const seen: UsagePageDto['usage'] = [];
    let cursor: string | undefined;
    do {
      const page = await ledger.usageHistory(id, { limit: 7, cursor });
      assert.ok(page.usage.length <= 7);
      seen.push(...page.usage);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const byId = new Map(a.purchases.map((p) => [p.id, p]));
    assert.deepEqual(
      seen,
      [...a.calls].reverse().map((callId) => {
        const { usage } = model.usages.get(callId)!.result;
        return {
          ...usage,
          fromExtra: usage.fromExtra.map((x) => {
            const p = byId.get(x.purchaseId)!;
            return {
              purchaseId: x.purchaseId,
              name: p.kind === 'grant' ? 'Grant' : packageOf(p.packageId).name,
              kind: p.kind,
              purchasedAt: iso(p.purchasedAtMs),
              seconds: x.seconds,
            };
          }),
        };
      }),
      `usage history of ${id}`,
    );

    // The export adds up to the extra balance, one row per purchase, grant, refund and allocation.
    let csv = '';
    for await (const chunk of await ledger.exportCsv(id)) csv += chunk;
    const rows = csv
      .trimEnd()
      .split('\r\n')
      .slice(1)
      .map((line) => line.split(','));
    const extra = sum(rows.map((r) => Number(r[7])));
    assert.equal(extra, (await ledger.balance(id)).extra.remainingSeconds, `export of ${id}`);
    const count = (type: string) => rows.filter((r) => r[1] === type).length;
    assert.equal(count('purchase') + count('grant'), a.purchases.length);
    assert.equal(count('refund'), a.purchases.filter((p) => p.refundedSeconds !== null).length);
    assert.equal(
      sum(rows.filter((r) => r[1] === 'usage').map((r) => Number(r[6]))),
      sum(a.calls.map((c) => model.usages.get(c)!.seconds)),
    );
  }
  assert.deepEqual(
    paidBy.sort(),
    [...gateway.charges.values()].map((ch) => ch.reference).sort(),
    'each charge paid exactly one purchase',
  );
}

/** The paths the runs reached, over every store together (some are rare in one store's runs). */
const reached = noStats();
const storesRun = new Set<string>();

for (const factory of storeFactories) {
  describe(`Ledger properties over ${factory.name}`, () => {
    it('keeps every ledger invariant and agrees with the model for any sequence of commands', async (t) => {
      const total = noStats();
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const store = await factory.open();
          try {
            const stats = await run(store, s);
            for (const k of Object.keys(total) as (keyof Stats)[]) total[k] += stats[k];
          } finally {
            await store.close();
          }
        }),
        { numRuns: factory.numRuns, includeErrorInReport: true },
      );
      t.diagnostic(`paths reached: ${JSON.stringify(total)}`);
      assert.ok(total.refusedEarly > 0, 'the commands include usage dated before the account');
      assert.ok(total.accepted202 > 0, 'the commands include payments that wait for the bank');
      for (const k of Object.keys(total) as (keyof Stats)[]) reached[k] += total[k];
      storesRun.add(factory.name);
    });
  });
}

describe('Ledger properties: what the commands reach', () => {
  it('every path of the model, over the stores together', (t) => {
    if (storesRun.size < storeFactories.length) return t.skip('not every store ran');
    t.diagnostic(`paths reached: ${JSON.stringify(reached)}`);
    for (const [k, n] of Object.entries(reached)) assert.ok(n > 0, `the commands reach ${k}`);
  });
});
