import { Webhook } from 'standardwebhooks';
import { systemClock, type Clock } from '../clock.js';
import type { LedgerStore, WebhookOutcome, WebhookRow } from '../store/types.js';

/** What `WebhookDelivery` uses for a value its options leave out. */
export const WEBHOOK_DEFAULTS = {
  /** The first retry's delay; each one after doubles it (with jitter). */
  retryBaseMs: 30_000,
  /** How long a webhook is retried before it counts as `failed`. */
  giveUpAfterMs: 24 * 60 * 60_000,
  /** How long one attempt may take. */
  timeoutMs: 10_000,
  /** Webhooks of different accounts sent at once (each account has one at a time). */
  concurrency: 16,
  /** How often the outbox is looked at without being told (retries, other processes). */
  pollMs: 5_000,
  /** How long delivered webhooks are kept (for `GET /v1/webhooks/deliveries`). */
  keepDeliveredMs: 7 * 24 * 60 * 60_000,
  /** How long failed ones are kept. */
  keepFailedMs: 30 * 24 * 60 * 60_000,
  /** How often those older are deleted. */
  pruneEveryMs: 60 * 60_000,
} as const;

export interface WebhookDeliveryOptions {
  store: LedgerStore;
  /** Where the host receives webhooks (`MINUTE_TOPUP_WEBHOOK_URL`). */
  url: string;
  /** The signing secret, `whsec_…` (`MINUTE_TOPUP_WEBHOOK_SECRET`). */
  secret: string;
  retryBaseMs?: number;
  giveUpAfterMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  pollMs?: number;
  clock?: Clock;
  /** 0 ≤ random() < 1, for the jitter (tests pass a fixed one). */
  random?: () => number;
  fetch?: typeof fetch;
  logError?: (error: Error) => void;
}

/**
 * Delivers the outbox to the host, signed per Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature`): at least once,
 * in order per account, one in flight per account — the store leases each
 * account's oldest undelivered webhook to one process at a time
 * (`claimWebhooks`; PostgreSQL `FOR UPDATE SKIP LOCKED`), so several
 * processes never send the same one at once. A 2xx delivers; anything else
 * (another status, a network error, the timeout) is retried after
 * `retryBaseMs × 2^(attempt−1)`, with full jitter between half and all of
 * it, for `giveUpAfterMs`; then it is `failed` and the account's next one
 * goes. A process that dies mid-send leaves a lease that expires: the
 * webhook is sent again, with the same `webhook-id`.
 */
export class WebhookDelivery {
  private readonly options: Required<
    Omit<WebhookDeliveryOptions, 'logError' | 'store' | 'url' | 'secret'>
  >;
  private readonly signer: Webhook;
  private readonly logError: (error: Error) => void;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  /** Told while a round runs: another round follows it. */
  private again = false;
  private stopped = true;
  /** When this process last deleted old webhooks. */
  private prunedAtMs = -Infinity;

  constructor(private readonly deps: WebhookDeliveryOptions) {
    this.options = {
      retryBaseMs: deps.retryBaseMs ?? WEBHOOK_DEFAULTS.retryBaseMs,
      giveUpAfterMs: deps.giveUpAfterMs ?? WEBHOOK_DEFAULTS.giveUpAfterMs,
      timeoutMs: deps.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs,
      concurrency: deps.concurrency ?? WEBHOOK_DEFAULTS.concurrency,
      // Retries are looked for as often as they fall due, but not more than 10 times a second.
      pollMs:
        deps.pollMs ??
        Math.min(WEBHOOK_DEFAULTS.pollMs, Math.max(100, deps.retryBaseMs ?? Infinity)),
      clock: deps.clock ?? systemClock,
      random: deps.random ?? Math.random,
      fetch: deps.fetch ?? fetch,
    };
    this.signer = new Webhook(deps.secret);
    this.logError =
      deps.logError ?? ((error) => console.error(`minute-topup webhooks: ${error.message}`));
  }

  /** Starts sending: now, then whenever told (`kick`) or every `pollMs`. */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Something was written to the outbox: a round starts (or follows the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.rounds().finally(() => {
      this.running = null;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.kick(), this.options.pollMs);
        this.timer.unref?.();
      }
    });
  }

  /** Stops after the attempts under way (their outcome recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Resolves once nothing is due in the outbox (tests: after a kick). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Deletes delivered webhooks older than a week and failed ones older than
   * 30 days (`WEBHOOK_DEFAULTS`). Returns how many.
   */
  async prune(): Promise<number> {
    const now = this.options.clock.now();
    this.prunedAtMs = now;
    return this.deps.store.transact((tx) =>
      tx.pruneWebhooks(now - WEBHOOK_DEFAULTS.keepDeliveredMs, now - WEBHOOK_DEFAULTS.keepFailedMs),
    );
  }

  /** Rounds until one finds nothing due (or only what was just tried). */
  private async rounds(): Promise<void> {
    if (this.options.clock.now() - this.prunedAtMs >= WEBHOOK_DEFAULTS.pruneEveryMs) {
      await this.prune().catch((error: unknown) =>
        this.logError(error instanceof Error ? error : new Error(String(error))),
      );
    }
    do {
      this.again = false;
      let sent: number;
      try {
        sent = await this.round();
      } catch (error) {
        this.logError(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (sent > 0) this.again = true;
    } while (this.again && !this.stopped);
  }

  /** Leases what is due (one per account) and sends it; returns how many were sent. */
  private async round(): Promise<number> {
    const { clock, timeoutMs, concurrency } = this.options;
    const now = clock.now();
    // The lease outlasts the attempt (its timeout) with room to record it.
    const leaseUntil = now + timeoutMs * 2 + 5_000;
    const due = await this.deps.store.transact((tx) =>
      tx.claimWebhooks(now, leaseUntil, concurrency),
    );
    await Promise.all(due.map((w) => this.deliver(w, leaseUntil)));
    return due.length;
  }

  private async deliver(webhook: WebhookRow, leaseUntil: number): Promise<void> {
    const outcome = await this.attempt(webhook);
    const recorded = await this.deps.store.transact((tx) =>
      tx.finishWebhook(webhook.id, leaseUntil, outcome),
    );
    if (!recorded) {
      this.logError(
        new Error(
          `Webhook ${webhook.id}: its lease ran out before the attempt was recorded (another process may send it again).`,
        ),
      );
    }
  }

  /** One signed POST; what it leaves. */
  private async attempt(webhook: WebhookRow): Promise<WebhookOutcome> {
    const { clock, timeoutMs } = this.options;
    const attempts = webhook.attempts + 1;
    const sentAt = new Date(clock.now());
    let error: string;
    try {
      const response = await this.options.fetch(this.deps.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'minute-topup-webhooks',
          'webhook-id': webhook.id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': this.signer.sign(webhook.id, sentAt, webhook.body),
        },
        body: webhook.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The body is not needed: drained so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        return {
          status: 'delivered',
          attempts,
          nextAttemptAtMs: webhook.nextAttemptAtMs,
          deliveredAtMs: clock.now(),
          lastError: null,
        };
      }
      error = `HTTP ${response.status}`;
    } catch (cause) {
      error =
        cause instanceof Error && cause.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : `network error: ${cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause)}`;
    }
    return this.retryOrGiveUp(webhook, attempts, error);
  }

  /**
   * The next attempt after `attempts` failed ones: `retryBaseMs ×
   * 2^(attempts−1)`, jittered to between half and all of it, and never past
   * the end of the retry window — the last attempt is made at its end. After
   * that one: `failed`.
   */
  private retryOrGiveUp(webhook: WebhookRow, attempts: number, error: string): WebhookOutcome {
    const { clock, retryBaseMs, giveUpAfterMs, random } = this.options;
    const now = clock.now();
    const deadline = webhook.createdAtMs + giveUpAfterMs;
    if (now >= deadline) {
      return {
        status: 'failed',
        attempts,
        nextAttemptAtMs: now,
        deliveredAtMs: null,
        lastError: error,
      };
    }
    const delay = retryBaseMs * 2 ** Math.min(attempts - 1, 30);
    const jittered = delay / 2 + random() * (delay / 2);
    return {
      status: 'pending',
      attempts,
      nextAttemptAtMs: Math.min(Math.round(now + jittered), deadline),
      deliveredAtMs: null,
      lastError: error,
    };
  }
}
