import type {
  AccountDto,
  BalanceDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
  UsageResultDto,
} from '../../contract/index.js';
import {
  allocateUsage,
  assertUsageAfterAccountStart,
  undatedUsageMs,
  cycleAt,
  cycleContaining,
  DomainError,
  findPlan,
  nextPlan,
  recommendUpgrade,
  CYCLES_CONSIDERED,
  type Catalog,
} from '../domain/index.js';
import { systemClock, type Clock } from '../clock.js';
import { balanceOf, iso, purchaseDto, READ, requireAccount } from './reads.js';
import type { PaymentGateway } from '../payments/gateway.js';
import { Purchases } from './buying.js';
import type {
  AccountRow,
  CycleCounters,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
} from '../store/types.js';

const emptyCounters = (): CycleCounters => ({
  planUsedSeconds: 0,
  extraUsedSeconds: 0,
  overageSeconds: 0,
  topupCount: 0,
  topupSpendMinor: 0,
});

export interface LedgerOptions {
  store: LedgerStore;
  catalog: Catalog;
  gateway: PaymentGateway;
  clock?: Clock;
  newId?: () => string;
  /** Fraction of the allowance at or below which the warning is `low`. */
  lowThreshold?: number;
  /** How far in the future a usage's `occurredAt` may lie (clock skew), ms. */
  futureToleranceMs?: number;
}

/**
 * The minute ledger: accounts, purchases and usage, with the rules of the
 * domain applied inside one store transaction per operation. Balances come
 * from maintained counters, never from a scan of history.
 */
export class Ledger {
  readonly store: LedgerStore;
  readonly catalog: Catalog;
  readonly gateway: PaymentGateway;
  readonly clock: Clock;
  private readonly newId: () => string;
  private readonly lowThreshold: number;
  private readonly futureToleranceMs: number;
  private readonly buying: Purchases;

  constructor(options: LedgerOptions) {
    this.store = options.store;
    this.catalog = options.catalog;
    this.gateway = options.gateway;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? (() => crypto.randomUUID());
    this.lowThreshold = options.lowThreshold ?? 0.2;
    this.futureToleranceMs = options.futureToleranceMs ?? 5 * 60_000;
    this.buying = new Purchases({
      store: this.store,
      catalog: this.catalog,
      gateway: this.gateway,
      clock: this.clock,
      newId: this.newId,
      lowThreshold: this.lowThreshold,
    });
  }

  private balanceIn(
    tx: LedgerTx,
    account: AccountRow,
    known?: { cycleStartMs: number; counters: CycleCounters | null },
  ): Promise<BalanceDto> {
    return balanceOf(tx, account, this.catalog, this.clock.now(), this.lowThreshold, known);
  }

  async putAccount(
    id: string,
    planId: string,
    cycleAnchor?: string,
  ): Promise<{ account: AccountDto; created: boolean }> {
    findPlan(this.catalog, planId);
    const anchorMs = cycleAnchor === undefined ? undefined : Date.parse(cycleAnchor);
    return this.store.transact(async (tx) => {
      const existing = await tx.getAccount(id, true);
      // Moving the anchor would re-key the cycle counters: this cycle's use
      // would vanish (free minutes) and the upgrade advice lose its history.
      if (existing && anchorMs !== undefined && anchorMs !== existing.cycleAnchorMs) {
        throw new DomainError(
          'conflict',
          'The billing cycle anchor of an existing account cannot be changed.',
        );
      }
      const cycleAnchorMs = anchorMs ?? existing?.cycleAnchorMs ?? this.clock.now();
      const created = await tx.putAccount(id, planId, cycleAnchorMs, this.clock.now());
      return { account: { id, planId, cycleAnchor: iso(cycleAnchorMs) }, created };
    });
  }

  /** The account, or a 404 `account_not_found`. */
  async getAccount(id: string): Promise<AccountDto> {
    return this.store.transact(async (tx) => {
      const a = await requireAccount(tx, id);
      return { id: a.id, planId: a.planId, cycleAnchor: iso(a.cycleAnchorMs) };
    }, READ);
  }

  async balance(accountId: string): Promise<BalanceDto> {
    return this.store.transact(
      async (tx) => this.balanceIn(tx, await requireAccount(tx, accountId)),
      READ,
    );
  }

  async purchases(accountId: string): Promise<PurchaseDto[]> {
    return this.store.transact(async (tx) => {
      await requireAccount(tx, accountId);
      return (await tx.listPurchases(accountId)).map(purchaseDto);
    }, READ);
  }

  /** Buys a package once per idempotency key (see `Purchases`). */
  purchase(
    accountId: string,
    packageId: string,
    idempotencyKey: string,
  ): Promise<PurchaseResultDto> {
    return this.buying.purchase(accountId, packageId, idempotencyKey);
  }

  /** Completes purchases a crash interrupted between charge and credit; run at start-up. */
  completePendingPurchases(
    onError?: (intent: PurchaseIntentRow, error: unknown) => void,
  ): Promise<number> {
    return this.buying.completePendingPurchases(onError);
  }

  /**
   * Records one call's usage: plan minutes of the cycle it occurred in first,
   * then active packages oldest first, then overage. A repeated `callId`
   * changes nothing and returns the first result; the same `callId` with
   * other figures is a conflict. A usage may not lie in the future (beyond
   * the clock-skew tolerance) nor before the account existed
   * (`occurred_before_account`, see `earliestUsageMs`).
   */
  async recordUsage(
    accountId: string,
    callId: string,
    seconds: number,
    occurredAt?: string,
  ): Promise<UsageResultDto> {
    const now = this.clock.now();
    const datedMs = occurredAt === undefined ? now : Date.parse(occurredAt);
    if (datedMs > now + this.futureToleranceMs) {
      throw new DomainError('invalid_request', 'occurredAt must not lie in the future.');
    }
    return this.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      // Without occurredAt the usage happens now — never before its account,
      // even when another process, its clock ahead of ours, created it.
      const occurredAtMs = occurredAt === undefined ? undatedUsageMs(now, account) : datedMs;
      const earlier = await tx.findUsage(accountId, callId);
      if (earlier) {
        const same =
          earlier.seconds === seconds &&
          (occurredAt === undefined || earlier.occurredAtMs === occurredAtMs);
        if (!same) {
          throw new DomainError(
            'conflict',
            `Usage for call "${callId}" was already recorded with other figures.`,
          );
        }
        return JSON.parse(earlier.response) as UsageResultDto;
      }
      assertUsageAfterAccountStart(occurredAtMs, account);
      const plan = findPlan(this.catalog, account.planId);
      const cycle = cycleContaining(account.cycleAnchorMs, occurredAtMs);
      const counters = await tx.getCycle(accountId, cycle.start);
      const planRemaining = Math.max(
        0,
        plan.monthlyMinutes * 60 - (counters?.planUsedSeconds ?? 0),
      );
      const active = account.extraRemainingSeconds > 0 ? await tx.activePurchases(accountId) : [];
      const allocation = allocateUsage(seconds, planRemaining, active);
      const remainingOf = new Map(active.map((p) => [p.id, p.remainingSeconds]));
      let drawn = 0;
      let usedUp = 0;
      for (const part of allocation.fromExtra) {
        await tx.drawFromPurchase(part.purchaseId, part.seconds);
        drawn += part.seconds;
        if (remainingOf.get(part.purchaseId) === part.seconds) usedUp += 1;
      }
      if (drawn > 0) await tx.adjustExtra(accountId, -drawn, -usedUp);
      const delta = {
        planUsedSeconds: allocation.fromPlanSeconds,
        extraUsedSeconds: drawn,
        overageSeconds: allocation.overageSeconds,
      };
      await tx.addToCycle(accountId, cycle.start, delta);
      // The balance needs this cycle's counters after the call: known, not read again.
      const after = counters ?? emptyCounters();
      const result: UsageResultDto = {
        usage: { callId, seconds, occurredAt: iso(occurredAtMs), ...allocation },
        balance: await this.balanceIn(
          tx,
          {
            ...account,
            extraRemainingSeconds: account.extraRemainingSeconds - drawn,
            activePackages: account.activePackages - usedUp,
          },
          {
            cycleStartMs: cycle.start,
            counters: {
              ...after,
              planUsedSeconds: after.planUsedSeconds + delta.planUsedSeconds,
              extraUsedSeconds: after.extraUsedSeconds + delta.extraUsedSeconds,
              overageSeconds: after.overageSeconds + delta.overageSeconds,
            },
          },
        ),
      };
      await tx.insertUsage({
        accountId,
        callId,
        seconds,
        occurredAtMs,
        cycleStartMs: cycle.start,
        fromPlanSeconds: allocation.fromPlanSeconds,
        overageSeconds: allocation.overageSeconds,
        fromExtra: allocation.fromExtra,
        response: JSON.stringify(result),
      });
      return result;
    });
  }

  async recommendation(accountId: string): Promise<RecommendationDto> {
    return this.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId);
      const plan = findPlan(this.catalog, account.planId);
      const current = cycleContaining(account.cycleAnchorMs, this.clock.now());
      const summaries = [];
      for (let i = 0; i < CYCLES_CONSIDERED; i += 1) {
        const cycle = cycleAt(account.cycleAnchorMs, current.index - i);
        const c = await tx.getCycle(accountId, cycle.start);
        summaries.push({
          topupCount: c?.topupCount ?? 0,
          topupSpendMinor: c?.topupSpendMinor ?? 0,
          usedSeconds: c ? c.planUsedSeconds + c.extraUsedSeconds + c.overageSeconds : 0,
        });
      }
      return recommendUpgrade(
        plan,
        nextPlan(this.catalog, plan.id),
        summaries,
        this.catalog.currency,
      );
    }, READ);
  }
}
