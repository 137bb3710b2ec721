import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { WebhookEvent, WebhookEventType } from '../contract/index.js';
import type { Catalog } from '../server/domain/catalog.js';
import { money } from './operator.js';

/**
 * The demo's host backend as a webhook endpoint (DESIGN §10): what the API
 * posts to `POST /demo/webhooks` when no MINUTE_TOPUP_WEBHOOK_URL is set.
 * Each request is checked as Standard Webhooks says a host checks it — its
 * `webhook-timestamp` within five minutes of the endpoint's clock, and one of
 * its `v1` signatures equal to the `standardwebhooks` package's signature of
 * `id.timestamp.body` — and a good one is kept in memory (newest first, a
 * bounded number) for the Billing page's "Webhooks received" panel. Delivery
 * is at least once, so a `webhook-id` received before is acknowledged again
 * and not listed twice (the ids are remembered far longer than the list).
 */
/** One webhook as the page lists it. */
export interface ReceivedWebhook {
  /** Its `webhook-id` (the same on every retry). */
  id: string;
  /**
   * The event's `type`: one of the API's, or one this demo does not know
   * (listed, not described), or `unknown` for a signed body without one.
   */
  type: WebhookEventType | (string & {});
  /** When this endpoint first received it. */
  receivedAt: string;
  /** `receivedAt` as the panel shows it: the time of day, UTC. */
  time: string;
  /** `data.accountId`; null when a signed body has none. */
  accountId: string | null;
  /** What happened, in one line (`describeWebhook`). */
  summary: string;
  /** Always true: only a request whose signature verified is kept. */
  verified: true;
  /** The event's `data` as the host received it (null when there is none). */
  data: WebhookEvent['data'] | null;
}

/** The three headers a Standard Webhooks request is signed with. */
export interface WebhookHeaders {
  'webhook-id'?: string;
  'webhook-timestamp'?: string;
  'webhook-signature'?: string;
}

/** What became of a request: kept (or kept before), or refused and why. */
export type Receipt = { kept: 'new' | 'again' } | { refused: string };

/** How far a `webhook-timestamp` may be from the endpoint's clock (the spec's five minutes). */
export const WEBHOOK_TOLERANCE_MS = 5 * 60_000;

/** A package's name from the catalog, or its id when it left the catalog. */
const packageName = (catalog: Catalog, id: string) =>
  catalog.packages.find((p) => p.id === id)?.name ?? id;

/** A non-empty string, or undefined. */
const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * One line about an event, for the panel. Total: an event whose `data` lacks
 * what its line needs (a `purchase.succeeded` without `purchase`, say) gets
 * a generic line naming its type, and a type this demo does not know is
 * named, not described — never an exception, which would answer the API
 * with a 500 and have it send the webhook again for a day.
 *
 * @example
 * describeWebhook({ type: 'balance.warning_changed', data: { from: 'none', to: 'low', … } }, catalog);
 * // "Warning changed none → low"
 * describeWebhook({ type: 'purchase.succeeded', data: { purchase: { name: 'Medium', … }, auto: true, … } }, catalog);
 * // "Purchase succeeded — Medium, auto top-up"
 * describeWebhook({ type: 'purchase.succeeded', data: { accountId: 'a' } }, catalog);
 * // "purchase.succeeded (not described: its data is not what this demo expects)"
 */
export function describeWebhook(event: WebhookEvent, catalog: Catalog): string {
  const type = text((event as { type?: unknown }).type);
  // What a malformed event's fields may be: anything, or nothing.
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<
    string,
    unknown
  >;
  const auto = data.auto === true ? ', auto top-up' : '';
  const line = (): string | undefined => {
    switch (type) {
      case 'balance.warning_changed': {
        const [from, to] = [text(data.from), text(data.to)];
        return from && to && `Warning changed ${from} → ${to}`;
      }
      case 'purchase.succeeded': {
        const name = text((data.purchase as { name?: unknown } | undefined)?.name);
        return name && `Purchase succeeded — ${name}${auto}`;
      }
      case 'purchase.failed': {
        const [id, reason] = [text(data.packageId), text(data.reason)];
        return id && reason && `Purchase failed — ${packageName(catalog, id)}${auto}: ${reason}`;
      }
      case 'purchase.refunded': {
        const p = (data.purchase ?? {}) as {
          name?: unknown;
          refundMinor?: unknown;
          currency?: unknown;
        };
        const [name, currency] = [text(p.name), text(p.currency)];
        const refund = p.refundMinor ?? 0;
        if (!name || !currency || !Number.isInteger(refund)) return undefined;
        try {
          return `Purchase refunded — ${name}, ${money(refund as number, currency)} back`;
        } catch {
          // Not a currency Intl knows.
          return undefined;
        }
      }
      case 'auto_topup.paused': {
        const reason = text(data.reason);
        return reason && `Auto top-up paused — ${reason}`;
      }
      case undefined:
        return undefined;
      default:
        // A type this demo does not know yet: named, not described.
        return type;
    }
  };
  return line() ?? `${type ?? 'unknown'} (not described: its data is not what this demo expects)`;
}

const timeOfDay = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZone: 'UTC',
});

/** A signed body that is a JSON object, or null. */
function objectOf(body: unknown): Record<string, unknown> | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : null;
}

/**
 * The webhooks this endpoint received, newest first, at most `capacity`
 * listed; the ids of the last `seenCapacity` received (10,000 by default,
 * far more than are listed) are remembered, so a redelivery of one that has
 * left the list is still acknowledged without being listed again.
 *
 * @example
 * const inbox = new WebhookInbox({ secret: 'whsec_…', catalog });
 * inbox.receive(rawBody, headers, Date.now()); // { kept: 'new' }, or { refused: '…' }
 * inbox.list(); // [{ id, type, accountId, summary, … }]
 */
export class WebhookInbox {
  private readonly signer: Webhook;
  private readonly catalog: Catalog;
  private readonly capacity: number;
  private readonly seenCapacity: number;
  private readonly kept: ReceivedWebhook[] = [];
  /** The ids received, oldest first (a Set keeps insertion order). */
  private readonly seen = new Set<string>();
  /** Grows with each webhook kept. */
  private revision = 0;
  /** Tells this process's list from another's (a restart starts again at 0). */
  private readonly epoch = crypto.randomUUID().slice(0, 8);

  constructor(options: {
    secret: string;
    catalog: Catalog;
    capacity?: number;
    seenCapacity?: number;
  }) {
    this.signer = new Webhook(options.secret);
    this.catalog = options.catalog;
    this.capacity = options.capacity ?? 100;
    this.seenCapacity = Math.max(this.capacity, options.seenCapacity ?? 10_000);
  }

  /**
   * Checks one request — its timestamp against `nowMs` (this endpoint's
   * clock), its signature over the raw body — and keeps it, unless its id
   * was received before. Nothing is kept from a request that does not
   * verify; anything that does is acknowledged, described or not.
   */
  receive(rawBody: string, headers: WebhookHeaders, nowMs: number): Receipt {
    const refused = this.verify(rawBody, headers, nowMs);
    if (refused) return { refused };
    const id = headers['webhook-id']!;
    if (this.seen.has(id)) return { kept: 'again' };

    let body: Record<string, unknown> | null = null;
    try {
      body = objectOf(JSON.parse(rawBody));
    } catch {
      // Signed, but not JSON: listed as `unknown`.
    }
    const type = text(body?.type) ?? 'unknown';
    const data = objectOf(body?.data);
    const receivedAt = new Date(nowMs);
    this.kept.unshift({
      id,
      type,
      receivedAt: receivedAt.toISOString(),
      time: timeOfDay.format(receivedAt),
      accountId: text(data?.accountId) ?? null,
      summary: body
        ? describeWebhook(body as unknown as WebhookEvent, this.catalog)
        : 'unknown (not described: the body is not a JSON object)',
      verified: true,
      data: data as WebhookEvent['data'] | null,
    });
    this.kept.splice(this.capacity);
    this.seen.add(id);
    for (const old of this.seen) {
      if (this.seen.size <= this.seenCapacity) break;
      this.seen.delete(old);
    }
    this.revision += 1;
    return { kept: 'new' };
  }

  /**
   * Why a request does not verify, or undefined when it does. As the
   * package's `verify`, with one difference: the timestamp is compared with
   * `nowMs`, not with the package's own `Date.now()`, so the endpoint's clock
   * is the one that decides what is stale. The reasons are the package's.
   */
  private verify(rawBody: string, headers: WebhookHeaders, nowMs: number): string | undefined {
    const id = headers['webhook-id'];
    const stamp = headers['webhook-timestamp'];
    const signatures = headers['webhook-signature'];
    if (!id || !stamp || !signatures) return 'Missing required headers';
    if (!/^\d{1,15}$/.test(stamp)) return 'Invalid Signature Headers';
    const sentMs = Number(stamp) * 1000;
    if (nowMs - sentMs > WEBHOOK_TOLERANCE_MS) return 'Message timestamp too old';
    if (sentMs - nowMs > WEBHOOK_TOLERANCE_MS) return 'Message timestamp too new';
    const expected = Buffer.from(this.signer.sign(id, new Date(sentMs), rawBody).slice(3));
    const matches = signatures.split(' ').some((versioned) => {
      const [version, signature = ''] = versioned.split(',');
      const given = Buffer.from(signature);
      return (
        version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)
      );
    });
    return matches ? undefined : 'No matching signature found';
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
