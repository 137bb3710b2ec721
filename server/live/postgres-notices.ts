import pg from 'pg';

/** The channel the trigger of migration 5 announces every new account version on. */
export const BALANCE_CHANNEL = 'minute_topup_balance';

export interface PostgresNoticesOptions {
  url: string;
  /** A committed change of `accountId`, now at `version`, made by any process. */
  onChange: (accountId: string, version: number) => void;
  /**
   * The connection came back after a loss: notices may have been missed in
   * between, so every watched account's balance should be read again.
   */
  onReconnect: () => void;
  logError?: (message: string) => void;
  /** Backoff of reconnection attempts, ms (doubling from the first to the last). */
  retryMs?: [first: number, last: number];
}

/**
 * One dedicated connection per process that `LISTEN`s to the balance channel,
 * so a change committed by any process reaches the streams this one holds. A
 * dropped connection is re-made with backoff; `onReconnect` follows each
 * return. `close()` ends it for good.
 */
export class PostgresNotices {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly options: PostgresNoticesOptions;

  private constructor(options: PostgresNoticesOptions) {
    this.options = options;
  }

  /** Connects and listens; resolves once the first `LISTEN` is in place. */
  static async start(options: PostgresNoticesOptions): Promise<PostgresNotices> {
    const notices = new PostgresNotices(options);
    await notices.connect();
    return notices;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'minute-topup-notices',
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel !== BALANCE_CHANNEL || !message.payload) return;
      try {
        const { a, v } = JSON.parse(message.payload) as { a: unknown; v: unknown };
        if (typeof a === 'string' && typeof v === 'number') this.options.onChange(a, v);
      } catch {
        // not ours
      }
    });
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.logError?.(
        `minute-topup: the PostgreSQL connection for live balances was lost${error ? ` (${error.message})` : ''}; reconnecting.`,
      );
      this.reconnect(this.options.retryMs?.[0] ?? 100);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${BALANCE_CHANNEL}`);
    } catch (error) {
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      throw error;
    }
    // Only now: a failure before this is the caller's to retry, not `lost`'s.
    this.client = client;
  }

  private reconnect(delayMs: number): void {
    const last = this.options.retryMs?.[1] ?? 5_000;
    this.retry = setTimeout(async () => {
      if (this.closed) return;
      try {
        await this.connect();
        this.options.onReconnect();
      } catch {
        this.reconnect(Math.min(delayMs * 2, last));
      }
    }, delayMs);
    this.retry.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
