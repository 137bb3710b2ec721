import type {
  BalanceDto,
  WarningLevel,
  WebhookEventData,
  WebhookEventType,
} from '../../contract/index.js';
import type { Clock } from '../clock.js';
import type { AccountRow, LedgerStore, LedgerTx, WebhookRow } from '../store/types.js';
import { iso } from './reads.js';

/**
 * What the ledger tells the host (DESIGN §10): each event is written to the
 * outbox in the transaction of the change it tells of, so it exists if and
 * only if the change committed; the delivery (`server/webhooks/delivery.ts`)
 * sends it later, signed, at least once. Without a webhook endpoint
 * configured nothing is written.
 */
export class Notices {
  /** Events written: the store wrapper compares it across a transaction. */
  private written = 0;

  constructor(
    private readonly options: {
      enabled: boolean;
      clock: Clock;
      newId: () => string;
      /** Told after a transaction that wrote to the outbox committed. */
      onWritten?: () => void;
    },
  ) {}

  /** Adds one event to the outbox, inside the transaction of its change. */
  async emit<T extends WebhookEventType>(
    tx: LedgerTx,
    type: T,
    data: WebhookEventData[T],
  ): Promise<void> {
    const row = this.event(type, data);
    if (row) await tx.insertWebhook(row);
  }

  /**
   * One event as its outbox row, for the caller to write in the transaction
   * of its change (`emit` writes it); null when no webhooks are sent.
   */
  event<T extends WebhookEventType>(type: T, data: WebhookEventData[T]): WebhookRow | null {
    if (!this.options.enabled) return null;
    const now = this.options.clock.now();
    this.written += 1;
    return {
      id: `msg_${this.options.newId()}`,
      accountId: data.accountId,
      type,
      body: JSON.stringify({ type, timestamp: iso(now), data }),
      status: 'pending',
      attempts: 0,
      createdAtMs: now,
      nextAttemptAtMs: now,
      deliveredAtMs: null,
      lastError: null,
    };
  }

  /**
   * Records the account's warning level once its balance is known after a
   * change, and announces a change of it (`balance.warning_changed`).
   */
  async warning(tx: LedgerTx, account: AccountRow, balance: BalanceDto): Promise<void> {
    const change = this.warningChange(account, balance);
    if (!change.warning) return;
    await tx.setWarning(account.id, change.warning);
    for (const row of change.events) await tx.insertWebhook(row);
  }

  /**
   * What `warning` writes, for the caller to write: the level to record
   * (null: unchanged) and the event announcing it. A level never recorded
   * (an account older than this version) is recorded silently: nothing says
   * what the host last heard.
   */
  warningChange(
    account: AccountRow,
    balance: BalanceDto,
  ): { warning: WarningLevel | null; events: WebhookRow[] } {
    if (account.warning === balance.warning) return { warning: null, events: [] };
    if (account.warning === null) return { warning: balance.warning, events: [] };
    const row = this.event('balance.warning_changed', {
      accountId: account.id,
      from: account.warning,
      to: balance.warning,
      balance,
    });
    return { warning: balance.warning, events: row ? [row] : [] };
  }

  /**
   * The store with every transaction watched: one that wrote to the outbox
   * tells `onWritten` once it committed (the delivery then sends at once
   * instead of at its next poll).
   */
  watch(store: LedgerStore): LedgerStore {
    const { onWritten } = this.options;
    if (!this.options.enabled || !onWritten) return store;
    return {
      kind: store.kind,
      audit: () => store.audit(),
      close: () => store.close(),
      transact: async (fn, options) => {
        const before = this.written;
        const result = await store.transact(fn, options);
        if (this.written !== before) onWritten();
        return result;
      },
    };
  }
}
