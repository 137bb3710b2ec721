import type { PurchaseChangeDto, UsageHistoryItemDto, UsagePageDto } from '../../contract/index.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../domain/index.js';
import { refundKeyOf, type PaymentGateway } from '../payments/gateway.js';
import type {
  AccountRow,
  LedgerStore,
  LedgerTx,
  PurchaseIntentRow,
  PurchaseRow,
  UsageEntry,
} from '../store/types.js';
import type { BuyingDeps } from './buying.js';
import { GRANT_INTENT, REFUND_INTENT } from './operator-keys.js';
import {
  balanceOf,
  activePurchase,
  creditPurchase,
  iso,
  keyReused,
  purchaseDto,
  READ,
  requireAccount,
  restorePurchase,
  storedAnswer,
  voidPurchase,
} from './reads.js';

/** What operators need of the ledger: what buying needs (`BuyingDeps`), less the error log. */
export type OperatorsDeps = Omit<BuyingDeps, 'logError'>;

/** The name a grant carries in the history, the usage receipts and the export. */
const GRANT_NAME = 'Grant';

/** Usage history pages: the default and the largest `limit`. */
const USAGE_PAGE = { defaultLimit: 20, maxLimit: 100 } as const;

/**
 * The money a refund returns: the unused share of the price, pro rata to the
 * seconds left, rounded down to the minor unit (never more than was paid).
 *
 * @example
 * proRataRefund(2500, 3600, 6000); // 1500
 * proRataRefund(1500, 1, 3000); // 0 (0.5 rounds down)
 */
function proRataRefund(priceMinor: number, remainingSeconds: number, totalSeconds: number): number {
  // Exact in doubles: prices and seconds are far below 2^26 each.
  return Math.floor((priceMinor * remainingSeconds) / totalSeconds);
}

/**
 * What operators do beside buying (DESIGN §11): grant free minutes, refund a
 * purchase's unused share, and trace every call's minutes to their source.
 */
export class Operators {
  constructor(private readonly deps: OperatorsDeps) {}

  /**
   * Grants `minutes` free minutes: a package of kind `grant` (price 0), drawn
   * oldest first with the others. Once per idempotency key: the same key with
   * the same minutes and reason replays the answer, with other figures (or a
   * key a purchase or refund used) it is a 422.
   */
  async grant(
    accountId: string,
    minutes: number,
    reason: string,
    idempotencyKey: string,
  ): Promise<PurchaseChangeDto> {
    const { store, catalog, clock } = this.deps;
    let version: number | undefined;
    const result = await store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      const found = await tx.findIntent(accountId, idempotencyKey);
      if (found) {
        const earlier =
          found.packageId === GRANT_INTENT ? storedAnswer<PurchaseChangeDto>(found) : null;
        if (earlier?.purchase.minutes === minutes && earlier.purchase.reason === reason) {
          return earlier;
        }
        throw keyReused('grant or purchase');
      }
      const now = clock.now();
      const row = activePurchase({
        id: this.deps.newId(),
        accountId,
        packageId: 'grant',
        kind: 'grant',
        name: GRANT_NAME,
        reason,
        minutes,
        priceMinor: 0,
        currency: catalog.currency,
        purchasedAtMs: now,
        // No payment: nothing a processor's event could name.
        paymentRef: '',
        idempotencyKey,
      });
      const after = await creditPurchase(tx, account, row);
      version = after.version;
      const answer: PurchaseChangeDto = {
        purchase: purchaseDto(row),
        balance: await this.balanceIn(tx, after),
      };
      await this.deps.notices.warning(tx, account, answer.balance);
      await tx.insertIntent({
        ...operatorIntent(accountId, idempotencyKey, GRANT_INTENT, row, 0, now),
        status: 'completed',
        response: JSON.stringify(answer),
      });
      return answer;
    });
    if (version !== undefined) this.deps.changed(accountId, version);
    return result;
  }

  /**
   * Refunds a purchase: in one transaction its remaining minutes are voided
   * and the refund is recorded as owed; then the gateway refunds the unused
   * share of the price (`proRataRefund`), and the answer is kept under the
   * key. The minutes go first, so a usage can never draw minutes whose money
   * came back; a crash or an unreachable processor in between leaves the
   * refund owed, finished by a retry with the same key or at start-up
   * (`completePendingRefunds`), at the same amount under the same gateway
   * key (`refundKeyOf`), so the money comes back once.
   *
   * A purchase is refunded once (a second refund is a 409 `conflict`), and
   * only a paid package that has minutes left: a grant, a purchase used up
   * or one not paid yet is a 409 too.
   */
  async refund(
    accountId: string,
    purchaseId: string,
    idempotencyKey: string,
  ): Promise<PurchaseChangeDto> {
    const { store, clock } = this.deps;
    let version: number | undefined;
    const owed = await store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      const found = await tx.findIntent(accountId, idempotencyKey);
      if (found) {
        if (found.packageId !== REFUND_INTENT || found.purchaseId !== purchaseId) {
          throw keyReused('refund or purchase');
        }
        return found;
      }
      const purchase = await refundable(tx, account, purchaseId);
      const now = clock.now();
      const minor = proRataRefund(
        purchase.priceMinor,
        purchase.remainingSeconds,
        purchase.totalSeconds,
      );
      const voided = await voidPurchase(tx, account, purchase, minor, now);
      version = voided.version;
      // The minutes go now: so may the warning (the refund itself is told once paid).
      const after = await requireAccount(tx, accountId);
      await this.deps.notices.warning(tx, account, await this.balanceIn(tx, after));
      const intent = operatorIntent(accountId, idempotencyKey, REFUND_INTENT, purchase, minor, now);
      await tx.insertIntent(intent);
      return intent;
    });
    if (version !== undefined) this.deps.changed(accountId, version);
    return this.finishRefund(owed);
  }

  /**
   * Refunds owed when the process stopped (a crash, the processor away): paid
   * now. Run at start-up, over the store's pending intents (`pending`).
   */
  async completePendingRefunds(
    pending: readonly PurchaseIntentRow[],
    onError: (intent: PurchaseIntentRow, error: unknown) => void,
  ): Promise<number> {
    let completed = 0;
    for (const intent of pending) {
      if (intent.packageId !== REFUND_INTENT) continue;
      try {
        await this.finishRefund(intent);
        completed += 1;
      } catch (error) {
        onError(intent, error);
      }
    }
    return completed;
  }

  /** Pays an owed refund at the gateway (once, by its key) and keeps the answer under the operator's key. */
  private async finishRefund(intent: PurchaseIntentRow): Promise<PurchaseChangeDto> {
    const done = storedAnswer<PurchaseChangeDto>(intent);
    if (done) return done;
    const { store, gateway } = this.deps;
    const purchaseId = intent.purchaseId ?? '';
    const amountMinor = intent.charged?.priceMinor ?? 0;
    const purchase = await store.transact(
      async (tx) => tx.getPurchase(intent.accountId, purchaseId),
      READ,
    );
    if (!purchase) throw new Error(`A refund is owed for purchase ${purchaseId}, which is gone.`);
    // Nothing to pay back (a few seconds of a cheap package round down to 0).
    const refund =
      amountMinor > 0
        ? await gateway
            .refund({
              idempotencyKey: refundKeyOf(purchaseId),
              accountId: intent.accountId,
              purchaseId,
              paymentRef: purchase.paymentRef,
              amountMinor,
              currency: purchase.currency,
            })
            .catch(async (error: unknown) => {
              // Refused for good (not merely unreachable): nothing comes
              // back, so the minutes must — the refund is undone.
              if (error instanceof DomainError && error.code === 'refund_failed') {
                await this.undoRefund(intent);
                throw new DomainError(
                  'refund_failed',
                  `${error.message} Nothing was refunded: the purchase keeps its minutes.`,
                );
              }
              throw error;
            })
        : null;
    return store.transact(async (tx) => {
      const account = await requireAccount(tx, intent.accountId, true);
      const now = await tx.findIntent(intent.accountId, intent.idempotencyKey);
      const earlier = now && storedAnswer<PurchaseChangeDto>(now);
      if (earlier) return earlier;
      const refunded = await tx.getPurchase(intent.accountId, purchaseId);
      if (!refunded) throw new Error(`Purchase ${purchaseId} is gone.`);
      const answer: PurchaseChangeDto = {
        purchase: purchaseDto(refunded),
        balance: await this.balanceIn(tx, account),
      };
      await tx.updateIntentPayment({ ...intent, paymentRef: refund?.reference ?? null });
      await tx.completeIntent(intent.accountId, intent.idempotencyKey, JSON.stringify(answer));
      await this.deps.notices.emit(tx, 'purchase.refunded', {
        accountId: account.id,
        purchase: answer.purchase,
      });
      await this.deps.notices.warning(tx, account, answer.balance);
      return answer;
    });
  }

  /**
   * The processor refused an owed refund: the purchase gets back the seconds
   * voided (no call could draw them meanwhile), the cycle's spend its money,
   * and the operator's key is free again. Once: only while the refund is
   * still owed.
   */
  private async undoRefund(intent: PurchaseIntentRow): Promise<void> {
    const { accountId, idempotencyKey } = intent;
    const version = await this.deps.store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId, true);
      const now = await tx.findIntent(accountId, idempotencyKey);
      if (now?.status !== 'pending' || now.packageId !== REFUND_INTENT) return undefined;
      const purchase = intent.purchaseId && (await tx.getPurchase(accountId, intent.purchaseId));
      if (!purchase || purchase.refundedSeconds === null) return undefined;
      await tx.deleteIntent(accountId, idempotencyKey);
      const version = await restorePurchase(tx, account, purchase);
      const restored = await requireAccount(tx, accountId);
      await this.deps.notices.warning(tx, account, await this.balanceIn(tx, restored));
      return version;
    });
    if (version !== undefined) this.deps.changed(accountId, version);
  }

  /**
   * The account's calls, newest first (in the order the ledger recorded
   * them), each with its split and every package part named: a page of
   * `limit` at a time, read through the usage's version index from the
   * cursor on — no offset, so every page costs the same however deep.
   */
  async usageHistory(
    accountId: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<UsagePageDto> {
    const limit = page.limit ?? USAGE_PAGE.defaultLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > USAGE_PAGE.maxLimit) {
      throw new DomainError(
        'invalid_request',
        `limit must be a whole number from 1 to ${USAGE_PAGE.maxLimit}.`,
      );
    }
    const beforeVersion = page.cursor === undefined ? undefined : versionOfCursor(page.cursor);
    return this.deps.store.transact(async (tx) => {
      await requireAccount(tx, accountId);
      const rows = await tx.listUsage(accountId, {
        beforeVersion,
        order: 'desc',
        limit: limit + 1,
      });
      const shown = rows.slice(0, limit);
      const names = await namesOf(tx, accountId, shown);
      return {
        usage: shown.map((u) => usageItem(u, names)),
        nextCursor: rows.length > limit ? cursorOf(shown[shown.length - 1].version) : null,
      };
    }, READ);
  }

  /**
   * The account's ledger as CSV (`LEDGER_CSV_COLUMNS`), one row per purchase,
   * grant, refund and usage allocation, oldest first, as it stood when the
   * export began: the purchases are read with the account's version, and only
   * usage up to that version follows, page by page, so the rows add up to
   * that moment's balance however long the download takes. Throws
   * `account_not_found` before the first row.
   */
  async exportCsv(accountId: string): Promise<AsyncIterable<string>> {
    const { store } = this.deps;
    const start = await store.transact(async (tx) => {
      const account = await requireAccount(tx, accountId);
      return { version: account.version, purchases: await tx.listPurchases(accountId) };
    }, READ);
    const purchases = new Map(start.purchases.map((p) => [p.id, p]));
    const events = purchaseEvents(start.purchases);
    const pageSize = 500;
    return (async function* rows() {
      yield csvLine(LEDGER_CSV_COLUMNS);
      let next = 0;
      let afterVersion: number | undefined;
      for (;;) {
        const page = await store.transact(
          (tx) =>
            tx.listUsage(accountId, {
              afterVersion,
              beforeVersion: start.version + 1,
              order: 'asc',
              limit: pageSize,
            }),
          READ,
        );
        const lines: string[] = [];
        for (const u of page) {
          while (next < events.length && events[next].atMs <= u.occurredAtMs) {
            lines.push(events[next++].line);
          }
          lines.push(...usageLines(u, purchases));
        }
        if (page.length < pageSize) {
          lines.push(...events.slice(next).map((e) => e.line));
          if (lines.length) yield lines.join('');
          return;
        }
        if (lines.length) yield lines.join('');
        afterVersion = page[page.length - 1].version;
      }
    })();
  }

  private balanceIn(tx: LedgerTx, account: AccountRow) {
    const { catalog, clock, lowThreshold } = this.deps;
    return balanceOf(tx, account, catalog, clock.now(), lowThreshold);
  }
}

/**
 * The export's columns. `extra_seconds` is the row's change of the extra
 * balance (a purchase or grant adds its seconds, a refund takes what it
 * voided, a call takes what it drew from a package; plan and overage take
 * nothing from it), so the column adds up to the extra balance.
 * `amount_minor` is money: a purchase's price, a refund's return (negative).
 */
const LEDGER_CSV_COLUMNS = [
  'at',
  'type',
  'purchase_id',
  'call_id',
  'name',
  'source',
  'seconds',
  'extra_seconds',
  'amount_minor',
  'currency',
  'reason',
] as const;

type CsvCell = string | number | null;

/** One CSV line (RFC 4180). Text a spreadsheet would run as a formula is quoted with a leading `'`. */
function csvLine(cells: readonly CsvCell[]): string {
  return `${cells
    .map((cell) => {
      if (cell === null) return '';
      if (typeof cell === 'number') return String(cell);
      const text = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',')}\r\n`;
}

/** The purchase, grant and refund rows of the export, oldest first. */
function purchaseEvents(purchases: readonly PurchaseRow[]): { atMs: number; line: string }[] {
  const events: { atMs: number; line: string }[] = [];
  for (const p of purchases) {
    events.push({
      atMs: p.purchasedAtMs,
      line: csvLine([
        iso(p.purchasedAtMs),
        p.kind === 'grant' ? 'grant' : 'purchase',
        p.id,
        null,
        p.name,
        null,
        p.totalSeconds,
        p.totalSeconds,
        p.priceMinor,
        p.currency,
        p.reason,
      ]),
    });
    if (p.refundedSeconds !== null) {
      const atMs = p.refundedAtMs ?? p.purchasedAtMs;
      events.push({
        atMs,
        line: csvLine([
          iso(atMs),
          'refund',
          p.id,
          null,
          p.name,
          null,
          p.refundedSeconds,
          -p.refundedSeconds,
          -(p.refundMinor ?? 0),
          p.currency,
          null,
        ]),
      });
    }
  }
  // Stable: a purchase stays before its own refund at the same instant.
  return events.sort((a, b) => a.atMs - b.atMs);
}

/** A call's rows in the export: one per source it drew from (plan, each package, overage). */
function usageLines(u: UsageEntry, purchases: ReadonlyMap<string, PurchaseRow>): string[] {
  const at = iso(u.occurredAtMs);
  const lines: string[] = [];
  const row = (purchase: PurchaseRow | null, source: string, seconds: number, extra: number) =>
    lines.push(
      csvLine([
        at,
        'usage',
        purchase?.id ?? null,
        u.callId,
        purchase?.name ?? null,
        source,
        seconds,
        extra,
        null,
        null,
        null,
      ]),
    );
  // A call of 0 seconds still shows, as 0 from the plan.
  if (u.fromPlanSeconds > 0 || u.seconds === 0) row(null, 'plan', u.fromPlanSeconds, 0);
  for (const part of u.fromExtra) {
    const purchase = purchases.get(part.purchaseId) ?? null;
    row(purchase, purchase?.kind ?? 'package', part.seconds, -part.seconds);
  }
  if (u.overageSeconds > 0) row(null, 'overage', u.overageSeconds, 0);
  return lines;
}

/** The purchases a page of usage drew from, by id. */
async function namesOf(
  tx: LedgerTx,
  accountId: string,
  usage: readonly UsageEntry[],
): Promise<Map<string, PurchaseRow>> {
  const ids = [...new Set(usage.flatMap((u) => u.fromExtra.map((x) => x.purchaseId)))];
  const rows = await tx.purchasesByIds(accountId, ids);
  return new Map(rows.map((p) => [p.id, p]));
}

function usageItem(
  u: UsageEntry,
  purchases: ReadonlyMap<string, PurchaseRow>,
): UsageHistoryItemDto {
  return {
    callId: u.callId,
    seconds: u.seconds,
    occurredAt: iso(u.occurredAtMs),
    fromPlanSeconds: u.fromPlanSeconds,
    fromExtra: u.fromExtra.map((part) => {
      const p = purchases.get(part.purchaseId);
      return {
        purchaseId: part.purchaseId,
        name: p?.name ?? '',
        kind: p?.kind ?? 'package',
        purchasedAt: p ? iso(p.purchasedAtMs) : '',
        seconds: part.seconds,
      };
    }),
    overageSeconds: u.overageSeconds,
  };
}

/**
 * The page cursor: the version of the last call shown, opaque to clients
 * (base64url of `u1:<version>`). No `Buffer`: the mock API runs this in a browser.
 */
function cursorOf(version: number): string {
  return btoa(`u1:${version}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function versionOfCursor(cursor: string): number {
  let text = '';
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    // Not base64: refused below.
  }
  const match = /^u1:(-?\d{1,16})$/.exec(text);
  const version = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(version)) {
    throw new DomainError('invalid_request', 'cursor: not a cursor this API gave out.');
  }
  return version;
}

/** The intent that keeps an operator's key: what it granted or refunds, and for how much. */
function operatorIntent(
  accountId: string,
  idempotencyKey: string,
  operation: typeof GRANT_INTENT | typeof REFUND_INTENT,
  purchase: PurchaseRow,
  amountMinor: number,
  nowMs: number,
): PurchaseIntentRow {
  return {
    accountId,
    idempotencyKey,
    packageId: operation,
    status: 'pending',
    response: null,
    createdAtMs: nowMs,
    charged: {
      name: purchase.name,
      minutes: purchase.minutes,
      priceMinor: amountMinor,
      currency: purchase.currency,
    },
    attempt: '',
    purchaseId: purchase.id,
    paymentRef: null,
    paymentState: null,
    customerId: null,
  };
}

/** The purchase, if a refund may void it; else why not (404, 409). */
async function refundable(
  tx: LedgerTx,
  account: AccountRow,
  purchaseId: string,
): Promise<PurchaseRow> {
  const purchase = await tx.getPurchase(account.id, purchaseId);
  if (!purchase) {
    const waiting = (await tx.awaitingIntents(account.id)).some((i) => i.purchaseId === purchaseId);
    if (waiting) {
      throw new DomainError('conflict', 'This purchase is not paid: there is nothing to refund.');
    }
    throw new DomainError('purchase_not_found', `No purchase with id "${purchaseId}".`);
  }
  if (purchase.kind === 'grant') {
    throw new DomainError(
      'conflict',
      'Granted minutes were not paid for: they cannot be refunded.',
    );
  }
  if (purchase.refundedSeconds !== null) {
    throw new DomainError('conflict', 'This purchase was already refunded.');
  }
  if (purchase.remainingSeconds === 0) {
    throw new DomainError('conflict', 'This purchase is used up: there is nothing left to refund.');
  }
  return purchase;
}
