import type {
  AccountDto,
  BalanceDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
  UsageResultDto,
} from './contract.js';
import {
  allocateUsage,
  cycleAt,
  cycleContaining,
  DomainError,
  findPackage,
  findPlan,
  nextPlan,
  recommendUpgrade,
  warningLevel,
  CYCLES_CONSIDERED,
  type Catalog,
} from './domain/index.js';
import type { PaymentGateway } from './payments.js';
import type {
  AccountRow,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
  PurchaseRow,
} from './store/types.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

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

const iso = (ms: number) => new Date(ms).toISOString();
const READ = { readOnly: true } as const;

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

  constructor(options: LedgerOptions) {
    this.store = options.store;
    this.catalog = options.catalog;
    this.gateway = options.gateway;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? (() => crypto.randomUUID());
    this.lowThreshold = options.lowThreshold ?? 0.2;
    this.futureToleranceMs = options.futureToleranceMs ?? 5 * 60_000;
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
      const created = await tx.putAccount(id, planId, cycleAnchorMs);
      return { account: { id, planId, cycleAnchor: iso(cycleAnchorMs) }, created };
    });
  }

  /** The account, or a 404 `account_not_found`. */
  async getAccount(id: string): Promise<AccountDto> {
    return this.store.transact(async (tx) => {
      const a = await this.account(tx, id);
      return { id: a.id, planId: a.planId, cycleAnchor: iso(a.cycleAnchorMs) };
    }, READ);
  }

  async balance(accountId: string): Promise<BalanceDto> {
    return this.store.transact(
      async (tx) => this.balanceIn(tx, await this.account(tx, accountId)),
      READ,
    );
  }

  async purchases(accountId: string): Promise<PurchaseDto[]> {
    return this.store.transact(async (tx) => {
      await this.account(tx, accountId);
      return (await tx.listPurchases(accountId)).map(purchaseDto);
    }, READ);
  }

  /**
   * Buys a package. The first call with a key records the intent, charges the
   * gateway under that key, then credits the minutes; a repeat of the key
   * returns the first result, and a repeat after a crash between charge and
   * credit finds the charge already made (no second charge) and credits it.
   */
  async purchase(
    accountId: string,
    packageId: string,
    idempotencyKey: string,
  ): Promise<PurchaseResultDto> {
    const pkg = findPackage(this.catalog, packageId);
    const intent = await this.store.transact(async (tx) => {
      await this.account(tx, accountId, true);
      const found = await tx.findIntent(accountId, idempotencyKey);
      if (found) {
        if (found.packageId !== packageId) throw keyReused();
        return found;
      }
      const row = {
        accountId,
        idempotencyKey,
        packageId,
        status: 'pending' as const,
        response: null,
        createdAtMs: this.clock.now(),
      };
      await tx.insertIntent(row);
      return row;
    });
    if (intent.status === 'completed' && intent.response) {
      return JSON.parse(intent.response) as PurchaseResultDto;
    }
    const charge = await this.gateway.charge({
      idempotencyKey: chargeKey(accountId, idempotencyKey),
      accountId,
      amountMinor: pkg.priceMinor,
      currency: this.catalog.currency,
      description: `${pkg.name}: ${pkg.minutes} voice minutes`,
    });
    if (charge.status === 'declined') {
      // Nothing was charged: forget the attempt, so the key is free again.
      await this.store.transact((tx) => tx.deleteIntent(accountId, idempotencyKey));
      throw new DomainError('payment_declined', `Payment declined: ${charge.reason}`);
    }
    return this.credit(accountId, idempotencyKey, packageId, charge.reference);
  }

  /**
   * Completes purchases whose charge was approved but whose minutes were
   * never credited (the process died in between). Run at start-up.
   */
  async completePendingPurchases(
    onError: (intent: PurchaseIntentRow, error: unknown) => void = () => undefined,
  ): Promise<number> {
    const pending = await this.store.transact((tx) => tx.pendingIntents(), READ);
    let completed = 0;
    for (const intent of pending) {
      // One intent that cannot be completed (its package left the catalog,
      // say) must not keep the others — or the server — from starting.
      try {
        const charge = await this.gateway.findCharge(
          chargeKey(intent.accountId, intent.idempotencyKey),
        );
        if (!charge) continue;
        await this.credit(
          intent.accountId,
          intent.idempotencyKey,
          intent.packageId,
          charge.reference,
        );
        completed += 1;
      } catch (error) {
        onError(intent, error);
      }
    }
    return completed;
  }

  private async credit(
    accountId: string,
    idempotencyKey: string,
    packageId: string,
    paymentRef: string,
  ): Promise<PurchaseResultDto> {
    const pkg = findPackage(this.catalog, packageId);
    return this.store.transact(async (tx) => {
      const account = await this.account(tx, accountId, true);
      const intent = await tx.findIntent(accountId, idempotencyKey);
      if (intent?.status === 'completed' && intent.response) {
        return JSON.parse(intent.response) as PurchaseResultDto;
      }
      const now = this.clock.now();
      // The key may have created its purchase already, its intent row gone
      // (a concurrent attempt was declined and forgot it): answer with it.
      const existing = await tx.findPurchaseByKey(accountId, idempotencyKey);
      const row: PurchaseRow = existing ?? {
        id: this.newId(),
        accountId,
        packageId: pkg.id,
        name: pkg.name,
        minutes: pkg.minutes,
        priceMinor: pkg.priceMinor,
        currency: this.catalog.currency,
        purchasedAtMs: now,
        totalSeconds: pkg.minutes * 60,
        remainingSeconds: pkg.minutes * 60,
        status: 'active',
        paymentRef,
        idempotencyKey,
      };
      if (!existing) {
        await tx.insertPurchase(row);
        await tx.adjustExtra(accountId, row.totalSeconds, 1);
        const cycle = cycleContaining(account.cycleAnchorMs, now);
        await tx.addToCycle(accountId, cycle.start, {
          topupCount: 1,
          topupSpendMinor: pkg.priceMinor,
        });
      }
      const result: PurchaseResultDto = {
        purchase: purchaseDto(row),
        balance: await this.balanceIn(tx, await this.account(tx, accountId)),
      };
      const response = JSON.stringify(result);
      if (intent) await tx.completeIntent(accountId, idempotencyKey, response);
      else {
        await tx.insertIntent({
          accountId,
          idempotencyKey,
          packageId,
          status: 'completed',
          response,
          createdAtMs: now,
        });
      }
      return result;
    });
  }

  /**
   * Records one call's usage: plan minutes of the cycle it occurred in first,
   * then active packages oldest first, then overage. A repeated `callId`
   * changes nothing and returns the first result; the same `callId` with
   * other figures is a conflict.
   */
  async recordUsage(
    accountId: string,
    callId: string,
    seconds: number,
    occurredAt?: string,
  ): Promise<UsageResultDto> {
    const now = this.clock.now();
    const occurredAtMs = occurredAt === undefined ? now : Date.parse(occurredAt);
    if (occurredAtMs > now + this.futureToleranceMs) {
      throw new DomainError('invalid_request', 'occurredAt must not lie in the future.');
    }
    return this.store.transact(async (tx) => {
      const account = await this.account(tx, accountId, true);
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
      const plan = findPlan(this.catalog, account.planId);
      const cycle = cycleContaining(account.cycleAnchorMs, occurredAtMs);
      const counters = await tx.getCycle(accountId, cycle.start);
      const planRemaining = Math.max(
        0,
        plan.monthlyMinutes * 60 - (counters?.planUsedSeconds ?? 0),
      );
      const active = account.extraRemainingSeconds > 0 ? await tx.activePurchases(accountId) : [];
      const allocation = allocateUsage(seconds, planRemaining, active);
      let drawn = 0;
      let usedUp = 0;
      for (const part of allocation.fromExtra) {
        await tx.drawFromPurchase(part.purchaseId, part.seconds);
        drawn += part.seconds;
        if (active.find((p) => p.id === part.purchaseId)?.remainingSeconds === part.seconds) {
          usedUp += 1;
        }
      }
      if (drawn > 0) await tx.adjustExtra(accountId, -drawn, -usedUp);
      await tx.addToCycle(accountId, cycle.start, {
        planUsedSeconds: allocation.fromPlanSeconds,
        extraUsedSeconds: drawn,
        overageSeconds: allocation.overageSeconds,
      });
      const result: UsageResultDto = {
        usage: { callId, seconds, occurredAt: iso(occurredAtMs), ...allocation },
        balance: await this.balanceIn(tx, {
          ...account,
          extraRemainingSeconds: account.extraRemainingSeconds - drawn,
          activePackages: account.activePackages - usedUp,
        }),
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
      const account = await this.account(tx, accountId);
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

  private async account(tx: LedgerTx, id: string, forUpdate = false): Promise<AccountRow> {
    const account = await tx.getAccount(id, forUpdate);
    if (!account) throw new DomainError('account_not_found', `No account with id "${id}".`);
    return account;
  }

  private async balanceIn(tx: LedgerTx, account: AccountRow): Promise<BalanceDto> {
    const plan = findPlan(this.catalog, account.planId);
    const cycle = cycleContaining(account.cycleAnchorMs, this.clock.now());
    const counters = await tx.getCycle(account.id, cycle.start);
    const allowanceSeconds = plan.monthlyMinutes * 60;
    const usedSeconds = counters?.planUsedSeconds ?? 0;
    return {
      plan: {
        id: plan.id,
        name: plan.name,
        allowanceSeconds,
        usedSeconds,
        remainingSeconds: Math.max(0, allowanceSeconds - usedSeconds),
        cycleStart: iso(cycle.start),
        cycleEnd: iso(cycle.end),
      },
      extra: {
        remainingSeconds: account.extraRemainingSeconds,
        activePackages: account.activePackages,
      },
      overageSeconds: counters?.overageSeconds ?? 0,
      warning: warningLevel({
        allowanceSeconds,
        planUsedSeconds: usedSeconds,
        extraRemainingSeconds: account.extraRemainingSeconds,
        lowThreshold: this.lowThreshold,
      }),
    };
  }
}

function chargeKey(accountId: string, idempotencyKey: string): string {
  return `${accountId}:${idempotencyKey}`;
}

function keyReused(): DomainError {
  return new DomainError(
    'idempotency_key_reused',
    'This Idempotency-Key was already used for a different purchase.',
  );
}

export function purchaseDto(row: PurchaseRow): PurchaseDto {
  return {
    id: row.id,
    packageId: row.packageId,
    name: row.name,
    minutes: row.minutes,
    priceMinor: row.priceMinor,
    currency: row.currency,
    purchasedAt: iso(row.purchasedAtMs),
    totalSeconds: row.totalSeconds,
    remainingSeconds: row.remainingSeconds,
    status: row.status,
  };
}
