import type {
  AccountDto,
  AutoTopupDto,
  AutoTopupRequest,
  BalanceDto,
  PurchaseChangeDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
  UsagePageDto,
  UsageResultDto,
  WebhookDeliveryDto,
  WebhookDeliveryStatus,
  WebhookEventType,
} from '../../contract/index.js';
import { systemClock, type Clock } from '../clock.js';
import {
  addCounters,
  allocateUsage,
  allowanceSeconds,
  assertUsageAfterAccountStart,
  cycleAt,
  cycleContaining,
  CYCLES_CONSIDERED,
  DEFAULT_LOW_THRESHOLD,
  DomainError,
  emptyCounters,
  findPackage,
  findPlan,
  nextPlan,
  planRemainingSeconds,
  recommendUpgrade,
  undatedUsageMs,
  usedSeconds,
  type Catalog,
  type CycleCounters,
} from '../domain/index.js';
import type { PaymentGateway } from '../payments/gateway.js';
import type {
  AccountRow,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
  UsageRow,
} from '../store/types.js';
import { awaitingPurchaseDto, Buying, type BuyingDeps, type PurchaseOutcome } from './buying.js';
import { Operators } from './operators.js';
import { Notices } from './notices.js';
import { autoTopupDto, changedSettings, isAutoTopupIntent, queueAutoTopup } from './auto-topup.js';
import { accountNotFound, balanceOf, iso, purchaseDto, READ, requireAccount } from './reads.js';
import { randomUuid } from '../../contract/random-uuid.js';
import { within } from '../store/usage-parts.js';

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
  /**
   * Told after each committed change of an account's balance, with its new
   * version (the live balance streams; a repeat or an older version may come).
   */
  onChange?: (accountId: string, version: number) => void;
  /** Where payments that cannot be paired with a purchase are reported (default: stderr). */
  logError?: (error: Error) => void;
  /**
   * Webhooks to the host (DESIGN §10): when given, events are written to the
   * outbox, and `written` is told after each commit that wrote some (the
   * delivery then sends at once). Left out, nothing is written.
   */
  webhooks?: { written?: () => void };
}

/** A cycle starts at most this long before any instant in it (a month ≤ 31 days), with room. */
const CYCLE_WINDOW_MS = 32 * 86_400_000;

/** What one usage took from the packages: seconds in all, and how many it used up. */
interface Drawn {
  seconds: number;
  usedUp: number;
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
  private readonly buying: Buying;
  private readonly operators: Operators;
  private readonly notices: Notices;
  private readonly logError: (error: Error) => void;
  /** Auto top-up charges under way in this process (see `autoTopupsSettled`). */
  private readonly autoRuns = new Set<Promise<void>>();

  constructor(options: LedgerOptions) {
    this.catalog = options.catalog;
    this.gateway = options.gateway;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? randomUuid;
    this.notices = new Notices({
      enabled: options.webhooks !== undefined,
      clock: this.clock,
      newId: this.newId,
      onWritten: options.webhooks?.written,
    });
    this.store = this.notices.watch(options.store);
    this.logError =
      options.logError ?? ((error) => console.error(`minute-topup: ${error.message}`));
    this.lowThreshold = options.lowThreshold ?? DEFAULT_LOW_THRESHOLD;
    this.futureToleranceMs = options.futureToleranceMs ?? 5 * 60_000;
    this.changed = options.onChange ?? (() => undefined);
    const deps: BuyingDeps = {
      changed: this.changed,
      logError: this.logError,
      notices: this.notices,
      store: this.store,
      catalog: this.catalog,
      gateway: this.gateway,
      clock: this.clock,
      newId: this.newId,
      lowThreshold: this.lowThreshold,
    };
    this.buying = new Buying(deps);
    this.operators = new Operators(deps);
  }

  /** Tells the live streams that an account changed (after the commit). */
  private readonly changed: (accountId: string, version: number) => void;

  private balanceIn(
    tx: LedgerTx,
    account: AccountRow,
    known?: { cycleStartMs: number; counters: CycleCounters | null },
  ): Promise<BalanceDto> {
    return balanceOf(tx, account, this.catalog, this.clock.now(), this.lowThreshold, known);
  }

  /**
   * Creates an account or changes its plan; links its Stripe customer when
   * `stripeCustomerId` is given (`null` unlinks it, absent keeps it).
   */
  async putAccount(
    id: string,
    planId: string,
    cycleAnchor?: string,
    stripeCustomerId?: string | null,
  ): Promise<{ account: AccountDto; created: boolean }> {
    findPlan(this.catalog, planId);
    const anchorMs = cycleAnchor === undefined ? undefined : Date.parse(cycleAnchor);
    const { version, ...answer } = await this.store.transact(async (tx) => {
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
      const created = await tx.putAccount(
        id,
        planId,
        cycleAnchorMs,
        this.clock.now(),
        stripeCustomerId,
      );
      const linked =
        stripeCustomerId === undefined ? (existing?.stripeCustomerId ?? null) : stripeCustomerId;
      // A new account's warning level is recorded, so its first change is announced.
      if (created) {
        const account = await requireAccount(tx, id);
        await tx.setWarning(id, (await this.balanceIn(tx, account)).warning);
      }
      // A plan change changes the balance (the allowance): the streams hear of it.
      const version =
        existing && existing.planId !== planId ? await tx.changeBalance(id, 0, 0) : undefined;
      // Another allowance may move the warning: the host hears of it.
      if (existing && version !== undefined) {
        const changed = await requireAccount(tx, id);
        await this.notices.warning(tx, existing, await this.balanceIn(tx, changed));
      }
      return {
        account: accountDto({ id, planId, cycleAnchorMs, stripeCustomerId: linked }),
        created,
        version,
      };
    });
    if (version !== undefined) this.changed(id, version);
    return answer;
  }

  /** The account, or a 404 `account_not_found`. */
  async getAccount(id: string): Promise<AccountDto> {
    return this.store.transact(async (tx) => {
      return accountDto(await requireAccount(tx, id));
    }, READ);
  }

  async balance(accountId: string): Promise<BalanceDto> {
    return this.store.transact(
      async (tx) => this.balanceIn(tx, await requireAccount(tx, accountId)),
      READ,
    );
  }

  /**
   * The account's purchases, newest first: those credited, and those whose
   * payment waits for the customer or the processor, or failed after a 202.
   */
  async listPurchases(accountId: string): Promise<PurchaseDto[]> {
    return this.store.transact(async (tx) => {
      await requireAccount(tx, accountId);
      const awaiting = (await tx.awaitingIntents(accountId)).map((i) =>
        awaitingPurchaseDto(i, this.buying.chargedOf(i)),
      );
      const credited = (await tx.listPurchases(accountId)).map(purchaseDto);
      // Both newest first; merged by time (a sort is stable: ties keep their order).
      return [...awaiting, ...credited].sort(
        (a, b) => Date.parse(b.purchasedAt) - Date.parse(a.purchasedAt),
      );
    }, READ);
  }

  /** Buys a package once per idempotency key: 201 credited, or 202 waiting (see `Buying`). */
  purchase(accountId: string, packageId: string, idempotencyKey: string): Promise<PurchaseOutcome> {
    return this.buying.buy(accountId, packageId, idempotencyKey);
  }

  /**
   * Buys a package and expects it credited at once (seeds, tests, a gateway
   * that approves); a payment that waits for the customer is a `conflict`.
   */
  async buy(
    accountId: string,
    packageId: string,
    idempotencyKey: string,
  ): Promise<PurchaseResultDto> {
    const outcome = await this.purchase(accountId, packageId, idempotencyKey);
    if (outcome.status === 201) return outcome.body;
    throw new DomainError(
      'conflict',
      `The payment of purchase ${outcome.body.purchase.id} is not complete.`,
    );
  }

  /** The processor's word on payments (its webhooks): see `Buying`. */
  get payments(): Pick<Buying, 'paymentSucceeded' | 'paymentFailed' | 'paymentRefunded'> {
    return this.buying;
  }

  /**
   * Completes what a crash (or an unreachable processor) interrupted:
   * purchases between charge and credit, and refunds owed; run at start-up.
   * Returns how many it completed.
   */
  async completePendingPurchases(
    onError: (intent: PurchaseIntentRow, error: unknown) => void = () => undefined,
  ): Promise<number> {
    const pending = await this.store.transact((tx) => tx.pendingIntents(), READ);
    return (
      (await this.buying.completePendingPurchases(pending, onError)) +
      (await this.operators.completePendingRefunds(pending, onError))
    );
  }

  /** An operator grants free minutes (see `Operators.grant`). */
  grant(
    accountId: string,
    minutes: number,
    reason: string,
    idempotencyKey: string,
  ): Promise<PurchaseChangeDto> {
    return this.operators.grant(accountId, minutes, reason, idempotencyKey);
  }

  /** An operator refunds a purchase's unused share (see `Operators.refund`). */
  refund(
    accountId: string,
    purchaseId: string,
    idempotencyKey: string,
  ): Promise<PurchaseChangeDto> {
    return this.operators.refund(accountId, purchaseId, idempotencyKey);
  }

  /** The account's calls, newest first, a page at a time (see `Operators.usageHistory`). */
  usageHistory(
    accountId: string,
    page?: { limit?: number; cursor?: string },
  ): Promise<UsagePageDto> {
    return this.operators.usageHistory(accountId, page);
  }

  /** The account's ledger as CSV lines (see `Operators.exportCsv`). */
  exportCsv(accountId: string): Promise<AsyncIterable<string>> {
    return this.operators.exportCsv(accountId);
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
    // The cycles the usage and the balance may fall in: each starts at most
    // a cycle (≤ 31 days) before its instant.
    const windows: [number, number][] = [[now - CYCLE_WINDOW_MS, now + CYCLE_WINDOW_MS]];
    if (occurredAt !== undefined) windows.push([datedMs - CYCLE_WINDOW_MS, datedMs]);
    const { result, queued } = await this.store.transact(async (tx) => {
      // One round trip on PostgreSQL: the lock, then the earlier usage, the
      // cycles' counters and the active packages, read after it.
      const read = await tx.readForUsage(accountId, callId, windows);
      const account = read.account;
      if (!account) {
        throw accountNotFound(accountId);
      }
      // Without occurredAt the usage happens now — never before its account,
      // even when another process, its clock ahead of ours, created it.
      const occurredAtMs = occurredAt === undefined ? undatedUsageMs(now, account) : datedMs;
      if (read.earlier) {
        const replayed = replayUsage(read.earlier, {
          seconds,
          occurredAtMs,
          dated: occurredAt !== undefined,
        });
        return { result: replayed, queued: null };
      }
      assertUsageAfterAccountStart(occurredAtMs, account);
      const countersAt = async (start: number) =>
        read.cycles.get(start) ??
        (within(windows, start) ? null : await tx.getCycle(accountId, start));
      const cycle = cycleContaining(account.cycleAnchorMs, occurredAtMs);
      const counters = (await countersAt(cycle.start)) ?? emptyCounters();
      const allowance = allowanceSeconds(findPlan(this.catalog, account.planId));
      const allocation = allocateUsage(
        seconds,
        planRemainingSeconds(allowance, counters.planUsedSeconds),
        account.extraRemainingSeconds > 0 ? read.active : [],
      );
      const remaining = new Map(read.active.map((p) => [p.id, p.remainingSeconds]));
      const draws = allocation.fromExtra.map((part) => ({
        ...part,
        usedUp: remaining.get(part.purchaseId) === part.seconds,
      }));
      const drawn: Drawn = {
        seconds: draws.reduce((sum, d) => sum + d.seconds, 0),
        usedUp: draws.filter((d) => d.usedUp).length,
      };
      // The account is locked: the version this change makes is the next one.
      const version = account.version + 1;
      const delta = {
        planUsedSeconds: allocation.fromPlanSeconds,
        extraUsedSeconds: drawn.seconds,
        overageSeconds: allocation.overageSeconds,
      };
      const current = cycleContaining(account.cycleAnchorMs, now).start;
      const result: UsageResultDto = {
        usage: { callId, seconds, occurredAt: iso(occurredAtMs), ...allocation },
        // The balance's cycle counters are known (read, or this call's): not read again.
        balance: await this.balanceIn(
          tx,
          { ...afterDraw(account, drawn), version },
          {
            cycleStartMs: current,
            counters:
              current === cycle.start ? addCounters(counters, delta) : await countersAt(current),
          },
        ),
      };
      // One statement on PostgreSQL: packages, counters, version, cycle, usage.
      await tx.writeUsage({
        draws,
        cycleDelta: delta,
        usage: {
          accountId,
          callId,
          seconds,
          occurredAtMs,
          cycleStartMs: cycle.start,
          fromPlanSeconds: allocation.fromPlanSeconds,
          overageSeconds: allocation.overageSeconds,
          fromExtra: allocation.fromExtra,
          response: JSON.stringify(result),
          version,
        },
      });
      await this.notices.warning(tx, account, result.balance);
      // At or below the threshold: one auto purchase queued with this usage.
      const queued = await queueAutoTopup(
        tx,
        account,
        result.balance,
        this.catalog,
        now,
        this.notices,
      );
      return { result, queued };
    });
    this.changed(accountId, result.balance.version);
    // Charged after the commit: the usage's answer never waits for it.
    if (queued) this.runAutoTopup(queued);
    return result;
  }

  /**
   * Charges a queued auto top-up in the background; a failure is asked
   * again later (1 s, doubling to 2 minutes, 8 times), then left to the
   * sweep (`completeStaleAutoTopups`) or the next start-up.
   */
  private runAutoTopup(intent: PurchaseIntentRow, attempt = 0): void {
    const run = this.buying.chargeAutoTopup(intent).catch((error: unknown) => {
      // Whatever failed — the processor away, a refusal of the key, the
      // database — the charge under its key may exist: asked again (the
      // gateway replays it), never forgotten. After that, the sweep
      // (`completeStaleAutoTopups`) or the next start-up carries on.
      if (attempt < 8) {
        const delay = Math.min(1000 * 2 ** attempt, 120_000);
        setTimeout(() => this.runAutoTopup(intent, attempt + 1), delay).unref?.();
        return;
      }
      this.logError(
        new Error(
          `Auto top-up ${intent.idempotencyKey} of account ${intent.accountId} could not be charged: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    });
    this.autoRuns.add(run);
    void run.finally(() => this.autoRuns.delete(run));
  }

  /**
   * Completes auto top-ups queued more than `olderThanMs` ago and still not
   * settled — their process died before the charge, or gave up asking — as
   * the start-up recovery would: under their key, so a charge already made
   * is found, not made again. Any process may run it (`main.ts` does, every
   * minute). Returns how many were completed.
   */
  async completeStaleAutoTopups(olderThanMs = 60_000): Promise<number> {
    const before = this.clock.now() - olderThanMs;
    const pending = await this.store.transact((tx) => tx.pendingIntents(), READ);
    const stale = pending.filter(
      (i) => isAutoTopupIntent(i) && i.createdAtMs <= before && i.paymentState !== 'failed',
    );
    return this.buying.completePendingPurchases(stale, (intent, error) =>
      this.logError(
        new Error(
          `Auto top-up ${intent.idempotencyKey} of account ${intent.accountId} is still not charged: ${error instanceof Error ? error.message : String(error)}`,
        ),
      ),
    );
  }

  /** Resolves once the auto top-up charges under way in this process are settled (tests, shutdown). */
  async autoTopupsSettled(): Promise<void> {
    while (this.autoRuns.size > 0) await Promise.all([...this.autoRuns]);
  }

  /** The webhook outbox, newest first (`GET /v1/webhooks/deliveries`). */
  async webhookDeliveries(
    status: WebhookDeliveryStatus | undefined,
    limit = 100,
  ): Promise<WebhookDeliveryDto[]> {
    const rows = await this.store.transact((tx) => tx.listWebhooks(status, limit), READ);
    return rows.map((w) => ({
      id: w.id,
      type: w.type as WebhookEventType,
      accountId: w.accountId,
      status: w.status,
      attempts: w.attempts,
      createdAt: iso(w.createdAtMs),
      nextAttemptAt: w.status === 'pending' ? iso(w.nextAttemptAtMs) : null,
      deliveredAt: w.deliveredAtMs === null ? null : iso(w.deliveredAtMs),
      lastError: w.lastError,
    }));
  }

  /** The account's auto top-up settings (`GET …/auto-topup`). */
  async autoTopup(accountId: string): Promise<AutoTopupDto> {
    return this.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId);
      return autoTopupDto(
        await tx.getAutoTopup(accountId),
        account,
        this.catalog,
        this.clock.now(),
      );
    }, READ);
  }

  /**
   * Changes the account's auto top-up settings (`PUT …/auto-topup`); always
   * resumes a paused one. The version grows, so open widgets hear of it.
   */
  async putAutoTopup(accountId: string, request: AutoTopupRequest): Promise<AutoTopupDto> {
    findPackage(this.catalog, request.packageId);
    const { answer, version } = await this.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      const now = this.clock.now();
      const row = changedSettings(await tx.getAutoTopup(accountId), accountId, request, now);
      await tx.putAutoTopup(row);
      const version = await tx.changeBalance(accountId, 0, 0);
      return { answer: autoTopupDto(row, account, this.catalog, now), version };
    });
    this.changed(accountId, version);
    return answer;
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
          usedSeconds: usedSeconds(c),
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

/**
 * The first answer to a call id, when the repeat carries the same figures
 * (its seconds, and its time when it names one); else a `conflict`.
 */
function replayUsage(
  earlier: UsageRow,
  repeat: { seconds: number; occurredAtMs: number; dated: boolean },
): UsageResultDto {
  const same =
    earlier.seconds === repeat.seconds &&
    (!repeat.dated || earlier.occurredAtMs === repeat.occurredAtMs);
  if (!same) {
    throw new DomainError(
      'conflict',
      `Usage for call "${earlier.callId}" was already recorded with other figures.`,
    );
  }
  return JSON.parse(earlier.response) as UsageResultDto;
}

/** The account's extra-minute counters once `drawn` is taken. */
function afterDraw(account: AccountRow, drawn: Drawn): AccountRow {
  return {
    ...account,
    extraRemainingSeconds: account.extraRemainingSeconds - drawn.seconds,
    activePackages: account.activePackages - drawn.usedUp,
  };
}

function accountDto(
  a: Pick<AccountRow, 'id' | 'planId' | 'cycleAnchorMs' | 'stripeCustomerId'>,
): AccountDto {
  return {
    id: a.id,
    planId: a.planId,
    cycleAnchor: iso(a.cycleAnchorMs),
    stripeCustomerId: a.stripeCustomerId,
  };
}
