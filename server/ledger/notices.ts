import type { BalanceDto, WebhookEventData, WebhookEventType } from '../../contract/index.js';
import type { Clock } from '../clock.js';
import type { AccountRow, LedgerStore, LedgerTx } from '../store/types.js';
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
    if (!this.options.enabled) return;
    const now = this.options.clock.now();
    await tx.insertWebhook({
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
    });
    this.written += 1;
  }

  /**
   * Records the account's warning level once its balance is known after a
   * change, and announces a change of it (`balance.warning_changed`). A level
   * never recorded (an account older than this version) is recorded
   * silently: nothing says what the host last heard.
   */
  async warning(tx: LedgerTx, account: AccountRow, balance: BalanceDto): Promise<void> {
    if (account.warning === balance.warning) return;
    await tx.setWarning(account.id, balance.warning);
    if (account.warning === null) return;
    await this.emit(tx, 'balance.warning_changed', {
      accountId: account.id,
      from: account.warning,
      to: balance.warning,
      balance,
    });
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
