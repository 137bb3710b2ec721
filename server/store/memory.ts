import { addCounters, emptyCounters } from '../domain/counters.js';
import type {
  AccountRow,
  AutoTopupRow,
  CycleCounters,
  LedgerAudit,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
  PurchaseRow,
  TransactOptions,
  UsageRow,
  WebhookRow,
} from './types.js';
import { autoTopupBelowSeconds, paymentFields, purchaseValues } from './rows.js';
import { purchaseByParts } from './purchase-parts.js';
import { readForUsageByParts, within, writeUsageByParts } from './usage-parts.js';

interface State {
  accounts: Map<string, AccountRow>;
  /** In insertion order, which is purchase order. */
  purchases: Map<string, PurchaseRow>;
  cycles: Map<string, CycleCounters & { accountId: string; cycleStartMs: number }>;
  usages: Map<string, UsageRow>;
  /** Each account's usage in the order recorded (ascending version): the history's index. */
  usageByAccount: Map<string, UsageRow[]>;
  intents: Map<string, PurchaseIntentRow>;
  /** The processor's events applied, by id. */
  paymentEvents: Map<string, { type: string; receivedAtMs: number }>;
  autoTopups: Map<string, AutoTopupRow>;
  /** The webhook outbox in order, each with its lease. */
  webhooks: (WebhookRow & { leaseUntilMs: number })[];
}

const key = (a: string, b: string | number) => `${a}\u0000${b}`;

function emptyState(): State {
  return {
    accounts: new Map(),
    purchases: new Map(),
    cycles: new Map(),
    usages: new Map(),
    usageByAccount: new Map(),
    intents: new Map(),
    paymentEvents: new Map(),
    autoTopups: new Map(),
    webhooks: [],
  };
}

/** Strings in byte (code point) order, as SQLite's BINARY and PostgreSQL's "C" collations. */
function byteOrder(a: string, b: string): number {
  // TextEncoder, not Buffer: this store also runs in browsers (the mocks).
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/**
 * The ledger in memory, with the same transaction semantics as the SQL stores:
 * one transaction at a time, and a failed one leaves no trace. It backs the
 * browser mocks and fast tests; it keeps nothing across restarts.
 */
export class MemoryStore implements LedgerStore {
  readonly kind = 'memory' as const;
  private state = emptyState();
  private queue: Promise<unknown> = Promise.resolve();

  transact<T>(fn: (tx: LedgerTx) => Promise<T>, options: TransactOptions = {}): Promise<T> {
    const run = this.queue.then(async () => {
      // A read changes nothing, so it needs no copy to roll back to.
      if (options.readOnly) return fn(this.createTx(this.state));
      const before = structuredClone(this.state);
      try {
        return await fn(this.createTx(this.state));
      } catch (error) {
        this.state = before;
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
  }

  private createTx(s: State): LedgerTx {
    const account = (id: string) => {
      const a = s.accounts.get(id);
      if (!a) throw new Error(`no account ${id}`);
      return a;
    };
    return {
      ...purchaseByParts,
      async getAccount(id) {
        const a = s.accounts.get(id);
        return a ? { ...a } : null;
      },
      async putAccount(id, planId, cycleAnchorMs, createdAtMs, stripeCustomerId) {
        const a = s.accounts.get(id);
        if (a) {
          a.planId = planId;
          a.cycleAnchorMs = cycleAnchorMs;
          if (stripeCustomerId !== undefined) a.stripeCustomerId = stripeCustomerId;
          return false;
        }
        s.accounts.set(id, {
          id,
          planId,
          cycleAnchorMs,
          createdAtMs,
          extraRemainingSeconds: 0,
          activePackages: 0,
          stripeCustomerId: stripeCustomerId ?? null,
          version: 0,
          warning: null,
          autoTopupBelowSeconds: null,
        });
        return true;
      },
      async changeBalance(accountId, deltaSeconds, deltaActive) {
        const a = account(accountId);
        if (a.extraRemainingSeconds + deltaSeconds < 0 || a.activePackages + deltaActive < 0) {
          throw new Error('extra balance would become negative');
        }
        a.extraRemainingSeconds += deltaSeconds;
        a.activePackages += deltaActive;
        a.version += 1;
        return a.version;
      },
      async getCycle(accountId, cycleStartMs) {
        const c = s.cycles.get(key(accountId, cycleStartMs));
        return c ? { ...c } : null;
      },
      async addToCycle(accountId, cycleStartMs, d) {
        const k = key(accountId, cycleStartMs);
        const counters = addCounters(s.cycles.get(k) ?? emptyCounters(), d);
        s.cycles.set(k, { ...counters, accountId, cycleStartMs });
      },
      async activePurchases(accountId) {
        return [...s.purchases.values()]
          .filter((p) => p.accountId === accountId && p.status === 'active')
          .map((p) => ({ id: p.id, remainingSeconds: p.remainingSeconds }));
      },
      async drawFromPurchase(purchaseId, seconds) {
        const p = s.purchases.get(purchaseId);
        if (!p || seconds > p.remainingSeconds) throw new Error('overdrawn package');
        p.remainingSeconds -= seconds;
        if (p.remainingSeconds === 0) p.status = 'used';
        return { usedUp: p.status === 'used' };
      },
      async insertPurchase(row) {
        if (s.purchases.has(row.id)) throw new Error('duplicate purchase id');
        for (const p of s.purchases.values()) {
          if (p.accountId === row.accountId && p.idempotencyKey === row.idempotencyKey) {
            throw new Error('duplicate purchase idempotency key');
          }
        }
        s.purchases.set(row.id, purchaseValues(row));
      },
      async findPurchaseByKey(accountId, idempotencyKey) {
        for (const p of s.purchases.values()) {
          if (p.accountId === accountId && p.idempotencyKey === idempotencyKey) return { ...p };
        }
        return null;
      },
      async findIntentByPaymentRef(paymentRef) {
        for (const i of s.intents.values()) {
          if (i.paymentRef === paymentRef && i.status === 'pending') return { ...i };
        }
        return null;
      },
      async findPurchaseByPaymentRef(paymentRef) {
        // The first credited, as the SQL stores (references are not unique).
        for (const p of s.purchases.values()) if (p.paymentRef === paymentRef) return { ...p };
        return null;
      },
      async getPurchase(accountId, purchaseId) {
        const p = s.purchases.get(purchaseId);
        return p && p.accountId === accountId ? { ...p } : null;
      },
      async purchasesByIds(accountId, ids) {
        return [...new Set(ids)]
          .map((id) => s.purchases.get(id))
          .filter((p): p is PurchaseRow => p !== undefined && p.accountId === accountId)
          .map((p) => ({ ...p }));
      },
      async markRefunded(purchaseId, refund) {
        const p = s.purchases.get(purchaseId);
        if (!p) throw new Error(`markRefunded: no purchase ${purchaseId}`);
        if (refund.seconds < 0 || refund.minor < 0) {
          throw new Error('a refund must not be negative');
        }
        Object.assign(p, {
          remainingSeconds: 0,
          status: 'used',
          refundedSeconds: refund.seconds,
          refundMinor: refund.minor,
          refundedAtMs: refund.atMs,
        });
      },
      async listPurchases(accountId) {
        return [...s.purchases.values()]
          .filter((p) => p.accountId === accountId)
          .reverse()
          .map((p) => ({ ...p }));
      },
      async restoreRefunded(purchaseId) {
        const p = s.purchases.get(purchaseId);
        if (!p || p.refundedSeconds === null) {
          throw new Error(`restoreRefunded: no refunded purchase ${purchaseId}`);
        }
        Object.assign(p, {
          remainingSeconds: p.refundedSeconds,
          status: p.refundedSeconds > 0 ? 'active' : 'used',
          refundedSeconds: null,
          refundMinor: null,
          refundedAtMs: null,
        });
      },
      async readForUsage(accountId, callId, windows) {
        return readForUsageByParts(this, accountId, callId, async (id) => {
          const found = new Map<number, CycleCounters>();
          for (const c of s.cycles.values()) {
            if (c.accountId !== id || !within(windows, c.cycleStartMs)) continue;
            const { accountId: _a, cycleStartMs: _s, ...counters } = c;
            found.set(c.cycleStartMs, counters);
          }
          return found;
        });
      },
      async writeUsage(w) {
        await writeUsageByParts(this, w);
      },
      async findUsage(accountId, callId) {
        const u = s.usages.get(key(accountId, callId));
        return u ? structuredClone(u) : null;
      },
      async insertUsage(row) {
        const k = key(row.accountId, row.callId);
        if (s.usages.has(k)) throw new Error('duplicate call id');
        const list = s.usageByAccount.get(row.accountId) ?? [];
        const last = list.at(-1);
        if (last && last.version >= row.version) throw new Error('usage version must grow');
        const stored = structuredClone(row);
        s.usages.set(k, stored);
        list.push(stored);
        s.usageByAccount.set(row.accountId, list);
      },
      async listUsage(accountId, range) {
        const list = s.usageByAccount.get(accountId) ?? [];
        // The first index whose version is above `v` (the list ascends by version).
        const above = (v: number) => {
          let lo = 0;
          let hi = list.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (list[mid].version > v) hi = mid;
            else lo = mid + 1;
          }
          return lo;
        };
        const from = range.afterVersion === undefined ? 0 : above(range.afterVersion);
        const to = range.beforeVersion === undefined ? list.length : above(range.beforeVersion - 1);
        const slice =
          range.order === 'asc'
            ? list.slice(from, Math.min(to, from + range.limit))
            : list.slice(Math.max(from, to - range.limit), to).reverse();
        return slice.map(({ response: _response, ...entry }) => structuredClone(entry));
      },
      async findIntent(accountId, idempotencyKey) {
        const i = s.intents.get(key(accountId, idempotencyKey));
        return i ? structuredClone(i) : null;
      },
      async insertIntent(row) {
        const k = key(row.accountId, row.idempotencyKey);
        if (s.intents.has(k)) throw new Error('duplicate idempotency key');
        // As the SQL stores: an intent recorded without its package (by an
        // earlier version) reads back with `charged: null`, and one without
        // its payment fields with an empty attempt and nulls.
        s.intents.set(k, {
          ...structuredClone(row),
          charged: row.charged ?? null,
          ...paymentFields(row),
        });
      },
      async updateIntentPayment(row) {
        const i = s.intents.get(key(row.accountId, row.idempotencyKey));
        if (i) Object.assign(i, paymentFields(row));
      },
      async awaitingIntents(accountId) {
        return [...s.intents.values()]
          .filter(
            (i) => i.accountId === accountId && i.status === 'pending' && i.paymentState !== null,
          )
          .sort(
            (a, b) =>
              b.createdAtMs - a.createdAtMs || byteOrder(b.idempotencyKey, a.idempotencyKey),
          )
          .map((i) => structuredClone(i));
      },
      async deleteIntent(accountId, idempotencyKey) {
        const k = key(accountId, idempotencyKey);
        if (s.intents.get(k)?.status === 'pending') s.intents.delete(k);
      },
      async completeIntent(accountId, idempotencyKey, response) {
        const i = s.intents.get(key(accountId, idempotencyKey));
        if (i) Object.assign(i, { status: 'completed', response });
      },
      async pendingIntents() {
        return [...s.intents.values()]
          .filter((i) => i.status === 'pending')
          .map((i) => structuredClone(i));
      },
      async recordPaymentEvent(id, type, receivedAtMs) {
        if (s.paymentEvents.has(id)) return false;
        s.paymentEvents.set(id, { type, receivedAtMs });
        return true;
      },
      async setWarning(accountId, warning) {
        account(accountId).warning = warning;
      },
      async getAutoTopup(accountId) {
        const a = s.autoTopups.get(accountId);
        return a ? { ...a } : null;
      },
      async putAutoTopup(row) {
        account(row.accountId).autoTopupBelowSeconds = autoTopupBelowSeconds(row);
        s.autoTopups.set(row.accountId, { ...row });
      },
      async insertWebhook(row) {
        if (s.webhooks.some((w) => w.id === row.id)) throw new Error('duplicate webhook id');
        s.webhooks.push({ ...row, leaseUntilMs: 0 });
      },
      async claimWebhooks(nowMs, leaseUntilMs, limit) {
        const seen = new Set<string>();
        const claimed: WebhookRow[] = [];
        for (const w of s.webhooks) {
          if (claimed.length >= limit) break;
          if (w.status !== 'pending' || seen.has(w.accountId)) continue;
          // Only the account's oldest undelivered one, whether due or not.
          seen.add(w.accountId);
          if (w.nextAttemptAtMs > nowMs || w.leaseUntilMs > nowMs) continue;
          w.leaseUntilMs = leaseUntilMs;
          const { leaseUntilMs: _lease, ...row } = w;
          claimed.push(row);
        }
        return claimed;
      },
      async finishWebhook(id, leaseUntilMs, outcome) {
        const w = s.webhooks.find((x) => x.id === id && x.leaseUntilMs === leaseUntilMs);
        if (w) Object.assign(w, outcome, { leaseUntilMs: 0 });
        return w !== undefined;
      },
      async pruneWebhooks(deliveredBeforeMs, failedBeforeMs) {
        const before = s.webhooks.length;
        s.webhooks = s.webhooks.filter(
          (w) =>
            !(
              (w.status === 'delivered' && w.createdAtMs < deliveredBeforeMs) ||
              (w.status === 'failed' && w.createdAtMs < failedBeforeMs)
            ),
        );
        return before - s.webhooks.length;
      },
      async listWebhooks(status, limit) {
        return s.webhooks
          .filter((w) => status === undefined || w.status === status)
          .slice(-limit)
          .reverse()
          .map(({ leaseUntilMs: _lease, ...row }) => row);
      },
    };
  }

  async audit(): Promise<LedgerAudit> {
    return this.transact(async () => {
      const s = this.state;
      const purchases = [...s.purchases.values()];
      const usages = [...s.usages.values()];
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const extraOf = (u: UsageRow) => sum(u.fromExtra.map((x) => x.seconds));
      return {
        accounts: [...s.accounts.values()].map((a) => {
          const own = purchases.filter((p) => p.accountId === a.id);
          return {
            id: a.id,
            extraRemainingSeconds: a.extraRemainingSeconds,
            activePackages: a.activePackages,
            sumPurchaseRemaining: sum(own.map((p) => p.remainingSeconds)),
            countActive: own.filter((p) => p.status === 'active').length,
          };
        }),
        purchases: purchases.map((p) => ({
          id: p.id,
          totalSeconds: p.totalSeconds,
          remainingSeconds: p.remainingSeconds,
          allocated: sum(
            usages
              .flatMap((u) => u.fromExtra.filter((x) => x.purchaseId === p.id))
              .map((x) => x.seconds),
          ),
          refunded: p.refundedSeconds ?? 0,
        })),
        cycles: [...s.cycles.values()].map((c) => {
          const own = usages.filter(
            (u) => u.accountId === c.accountId && u.cycleStartMs === c.cycleStartMs,
          );
          return {
            accountId: c.accountId,
            cycleStartMs: c.cycleStartMs,
            planUsedSeconds: c.planUsedSeconds,
            sumFromPlan: sum(own.map((u) => u.fromPlanSeconds)),
            extraUsedSeconds: c.extraUsedSeconds,
            sumFromExtra: sum(own.map(extraOf)),
            overageSeconds: c.overageSeconds,
            sumOverage: sum(own.map((u) => u.overageSeconds)),
          };
        }),
        usages: usages.map((u) => ({
          callId: u.callId,
          seconds: u.seconds,
          fromPlan: u.fromPlanSeconds,
          fromExtra: extraOf(u),
          overage: u.overageSeconds,
        })),
      };
    });
  }
}
