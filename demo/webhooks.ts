import { Webhook } from 'standardwebhooks';
import type { WebhookEvent, WebhookEventType } from '../contract/index.js';
import type { Catalog } from '../server/domain/catalog.js';
import { money } from './operator.js';

/**
 * The demo's host backend as a webhook endpoint (DESIGN §10): what the API
 * posts to `POST /demo/webhooks` when no MINUTE_TOPUP_WEBHOOK_URL is set.
 * Each request is checked with the `standardwebhooks` package, as a host
 * would check it; a good one is kept in memory (newest first, a bounded
 * number) for the Billing page's "Webhooks received" panel. Delivery is at
 * least once, so a `webhook-id` already kept is acknowledged again and not
 * listed twice.
 */

/** One webhook as the page lists it. */
export interface ReceivedWebhook {
  /** Its `webhook-id` (the same on every retry). */
  id: string;
  type: WebhookEventType;
  /** When this endpoint first received it. */
  receivedAt: string;
  /** `receivedAt` as the panel shows it: the time of day, UTC. */
  time: string;
  accountId: string;
  /** What happened, in one line (`describeWebhook`). */
  summary: string;
  /** Always true: only a request whose signature verified is kept. */
  verified: true;
  /** The event's `data`, as the host received it. */
  data: WebhookEvent['data'];
}

/** The three headers a Standard Webhooks request is signed with. */
export interface WebhookHeaders {
  'webhook-id'?: string;
  'webhook-timestamp'?: string;
  'webhook-signature'?: string;
}

/** What became of a request: kept (or kept before), or refused and why. */
export type Receipt = { kept: 'new' | 'again' } | { refused: string };

/** A package's name from the catalog, or its id when it left the catalog. */
const packageName = (catalog: Catalog, id: string) =>
  catalog.packages.find((p) => p.id === id)?.name ?? id;

/**
 * One line about an event, for the panel.
 *
 * @example
 * describeWebhook({ type: 'balance.warning_changed', data: { from: 'none', to: 'low', … } }, catalog);
 * // "Warning changed none → low"
 * describeWebhook({ type: 'purchase.succeeded', data: { purchase: { name: 'Medium', … }, auto: true, … } }, catalog);
 * // "Purchase succeeded — Medium, auto top-up"
 */
export function describeWebhook(event: WebhookEvent, catalog: Catalog): string {
  const auto = (yes: boolean) => (yes ? ', auto top-up' : '');
  switch (event.type) {
    case 'balance.warning_changed':
      return `Warning changed ${event.data.from} → ${event.data.to}`;
    case 'purchase.succeeded':
      return `Purchase succeeded — ${event.data.purchase.name}${auto(event.data.auto)}`;
    case 'purchase.failed':
      return (
        `Purchase failed — ${packageName(catalog, event.data.packageId)}${auto(event.data.auto)}: ` +
        event.data.reason
      );
    case 'purchase.refunded': {
      const p = event.data.purchase;
      return `Purchase refunded — ${p.name}, ${money(p.refundMinor ?? 0, p.currency)} back`;
    }
    case 'auto_topup.paused':
      return `Auto top-up paused — ${event.data.reason}`;
    default:
      // A type this demo does not know yet: named, not described.
      return (event as { type: string }).type;
  }
}

const timeOfDay = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZone: 'UTC',
});

/** Whether a verified body has the shape every event has: a type and `data.accountId`. */
function isEvent(body: unknown): body is WebhookEvent {
  const b = body as { type?: unknown; data?: { accountId?: unknown } } | null;
  return typeof b?.type === 'string' && typeof b.data?.accountId === 'string';
}

/**
 * The webhooks this endpoint received, newest first, at most `capacity`.
 *
 * @example
 * const inbox = new WebhookInbox({ secret: 'whsec_…', catalog });
 * inbox.receive(rawBody, headers, Date.now()); // { kept: 'new' }, or { refused: '…' }
 * inbox.list(); // [{ id, type, accountId, summary, … }]
 */
export class WebhookInbox {
  private readonly verifier: Webhook;
  private readonly catalog: Catalog;
  private readonly capacity: number;
  private readonly kept: ReceivedWebhook[] = [];
  private readonly ids = new Set<string>();
  /** Grows with each webhook kept. */
  private revision = 0;
  /** Tells this process's list from another's (a restart starts again at 0). */
  private readonly epoch = crypto.randomUUID().slice(0, 8);

  constructor(options: { secret: string; catalog: Catalog; capacity?: number }) {
    this.verifier = new Webhook(options.secret);
    this.catalog = options.catalog;
    this.capacity = options.capacity ?? 100;
  }

  /**
   * Checks one request's signature over its raw body (and its timestamp,
   * within the library's five minutes) and keeps it, unless its id is kept
   * already. Nothing is kept from a request that does not verify.
   */
  receive(rawBody: string, headers: WebhookHeaders, nowMs: number): Receipt {
    const id = headers['webhook-id'] ?? '';
    let body: unknown;
    try {
      body = this.verifier.verify(rawBody, {
        'webhook-id': id,
        'webhook-timestamp': headers['webhook-timestamp'] ?? '',
        'webhook-signature': headers['webhook-signature'] ?? '',
      });
    } catch (error) {
      // The library's reasons ("No matching signature found", "Message
      // timestamp too old", …), or a signed body that is not JSON.
      return { refused: error instanceof Error ? error.message : String(error) };
    }
    if (!isEvent(body)) return { refused: 'the body is not a webhook event' };
    if (this.ids.has(id)) return { kept: 'again' };
    const receivedAt = new Date(nowMs);
    this.kept.unshift({
      id,
      type: body.type,
      receivedAt: receivedAt.toISOString(),
      time: timeOfDay.format(receivedAt),
      accountId: body.data.accountId,
      summary: describeWebhook(body, this.catalog),
      verified: true,
      data: body.data,
    });
    this.ids.add(id);
    for (const dropped of this.kept.splice(this.capacity)) this.ids.delete(dropped.id);
    this.revision += 1;
    return { kept: 'new' };
  }

  /** Changes whenever the list does: the page's poll sends it back (an ETag). */
  get etag(): string {
    return `"webhooks-${this.epoch}-${this.revision}"`;
  }

  /** What was kept, newest first. */
  list(): readonly ReceivedWebhook[] {
    return this.kept;
  }
}
