import Stripe from 'stripe';
import { DomainError } from '../domain/errors.js';
import {
  AUTHENTICATION_NEEDED,
  assertSameCharge,
  type ChargeLookup,
  type ChargeRequest,
  type ChargeResult,
  type PaymentGateway,
  type RefundRequest,
  type RefundResult,
} from './gateway.js';

export interface StripeGatewayOptions {
  /** `sk_live_…` / `sk_test_…` (`STRIPE_SECRET_KEY`). */
  secretKey: string;
  /** `whsec_…` (`STRIPE_WEBHOOK_SECRET`): what `verifyWebhook` checks signatures with. */
  webhookSecret: string;
  /** Another Stripe API, e.g. `http://127.0.0.1:12111` (stripe-mock, a test double). */
  apiBase?: string;
  /** How often the SDK retries a request that failed on the network or with a 409/5xx (default 1). */
  maxNetworkRetries?: number;
}

/**
 * A Stripe event, reduced to what the ledger acts on: no Stripe type leaves
 * this file. `attempt` is `''` for a charge made without one.
 */
export type StripeWebhook =
  | {
      id: string;
      type: 'payment_intent.succeeded';
      paymentIntentId: string;
      accountId: string;
      purchaseKey: string;
      chargeKey: string;
      attempt: string;
    }
  | {
      id: string;
      type: 'payment_intent.payment_failed';
      paymentIntentId: string;
      accountId: string;
      purchaseKey: string;
      chargeKey: string;
      attempt: string;
      reason: string;
    }
  | {
      id: string;
      type: 'charge.refunded';
      paymentIntentId: string;
      /** Stripe's `amount_refunded`: everything refunded on the charge so far (partial refunds add up). */
      amountRefundedMinor: number;
      /** What the charge was for (`amount`): refunded in full when `amountRefundedMinor` reaches it. */
      amountMinor: number;
    }
  | { id: string; type: 'ignored'; stripeType: string };

/**
 * The `Idempotency-Key` a charge is created under at Stripe: the charge key,
 * and the attempt after a `-` when there is one. Stripe replays a declined
 * request under its key for 24 hours, so a new attempt needs a key of its own;
 * the charge key is hex, so the `-` keeps the two apart.
 *
 * @example
 * stripeIdempotencyKey({ idempotencyKey: 'ab12', attempt: '' }); // 'ab12'
 * stripeIdempotencyKey({ idempotencyKey: 'ab12', attempt: '2' }); // 'ab12-2'
 */
export function stripeIdempotencyKey(
  request: Pick<ChargeRequest, 'idempotencyKey' | 'attempt'>,
): string {
  return request.attempt === ''
    ? request.idempotencyKey
    : `${request.idempotencyKey}-${request.attempt}`;
}

/** A charge is looked for this long before its intent was recorded (clocks differ). */
const CLOCK_SKEW_SECONDS = 300;

/**
 * The payment gateway on Stripe's PaymentIntents API, through the official SDK.
 *
 * Stripe calls per purchase:
 * - `charge`: `GET /v1/customers/:id` (the default payment method), then one
 *   `POST /v1/payment_intents` (`confirm=true`, no redirects, not off-session)
 *   under `stripeIdempotencyKey(request)`. A repeat of a request that already
 *   reached Stripe replays the stored answer; when that answer may have moved
 *   on (it was not final), one `GET /v1/payment_intents/:id` follows.
 *   No customer or no default payment method: no PaymentIntent call at all.
 * - `chargeState`: one `GET /v1/payment_intents/:id`.
 * - `findCharge` (start-up recovery): `GET /v1/payment_intents?customer=…&created[gte]=…`
 *   (100 a page, every page since the intent was recorded, less 5 minutes of
 *   clock skew), matched on `metadata.chargeKey` and `metadata.attempt`.
 * - `refund` (an operator's refund): one `POST /v1/refunds` (`payment_intent`,
 *   `amount`, `metadata[accountId]`, `metadata[purchaseId]`) under the
 *   request's `idempotencyKey` (`refundKeyOf(purchaseId)`). When Stripe
 *   replays a refund that was not final then (`pending`, `requires_action`),
 *   one `GET /v1/refunds/:id` follows: it may have failed since.
 * - `verifyWebhook`: no call; the SDK checks the signature locally.
 *
 * The SDK retries network failures and 409/5xx answers itself
 * (`maxNetworkRetries`, and once more for a connection closed under it),
 * always under the same idempotency key, so a retry never charges twice.
 *
 * @example
 * const gateway = new StripeGateway({ secretKey, webhookSecret });
 * const result = await gateway.charge(request); // approved | declined | requires_action | processing
 */
export class StripeGateway implements PaymentGateway {
  private readonly stripe: Stripe;
  private readonly webhookSecret: string;

  constructor(options: StripeGatewayOptions) {
    this.stripe = new Stripe(options.secretKey, {
      ...(options.apiBase ? addressOf(options.apiBase) : {}),
      maxNetworkRetries: options.maxNetworkRetries ?? 1,
      timeout: 20_000,
      telemetry: false,
    });
    this.webhookSecret = options.webhookSecret;
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    if (!request.customerId) {
      return paymentMethodRequired('The account is not linked to a Stripe customer.');
    }
    const paymentMethod = await this.defaultPaymentMethod(request.customerId);
    if (!paymentMethod) {
      return paymentMethodRequired('The customer has no default payment method on file.');
    }
    let intent: Stripe.Response<Stripe.PaymentIntent>;
    try {
      intent = await this.stripe.paymentIntents.create(
        paymentIntentParams(request, request.customerId, paymentMethod),
        { idempotencyKey: stripeIdempotencyKey(request) },
      );
    } catch (error) {
      // A card error made a PaymentIntent that stays declined; a new attempt makes another.
      // Off-session, a bank that wants the customer to authenticate declines too.
      if (
        error instanceof Stripe.errors.StripeCardError &&
        (error.code === 'authentication_required' ||
          error.decline_code === 'authentication_required')
      ) {
        return { status: 'declined', reason: AUTHENTICATION_NEEDED };
      }
      if (error instanceof Stripe.errors.StripeCardError) {
        return { status: 'declined', reason: error.message || 'The card was declined.' };
      }
      throw stripeErrorOf(error);
    }
    // A replayed answer is the PaymentIntent as it was then: the customer may have authenticated since.
    const replayed = intent.lastResponse?.headers?.['idempotent-replayed'] === 'true';
    if (replayed && intent.status !== 'succeeded' && intent.status !== 'canceled') {
      return this.chargeState(intent.id);
    }
    return stateOf(intent);
  }

  async chargeState(reference: string): Promise<ChargeResult> {
    try {
      return stateOf(await this.stripe.paymentIntents.retrieve(reference));
    } catch (error) {
      throw stripeErrorOf(error);
    }
  }

  async findCharge(lookup: ChargeLookup): Promise<ChargeResult | null> {
    if (!lookup.customerId) return null;
    const matches: Stripe.PaymentIntent[] = [];
    try {
      const intents = this.stripe.paymentIntents.list({
        customer: lookup.customerId,
        created: { gte: Math.floor(lookup.sinceMs / 1000) - CLOCK_SKEW_SECONDS },
        limit: 100,
      });
      for await (const intent of intents) {
        const { chargeKey, attempt = '' } = intent.metadata;
        if (chargeKey === lookup.idempotencyKey && attempt === lookup.attempt) matches.push(intent);
      }
    } catch (error) {
      throw stripeErrorOf(error);
    }
    // Stripe spells currencies in lower case.
    const wanted = { ...lookup, currency: lookup.currency.toLowerCase() };
    for (const intent of matches) {
      assertSameCharge(
        {
          accountId: intent.metadata.accountId,
          amountMinor: intent.amount,
          currency: intent.currency,
        },
        wanted,
      );
    }
    // One per key and attempt, unless a retry came after Stripe forgot the key (24 h): a paid one wins.
    const found = matches.find((intent) => intent.status === 'succeeded') ?? matches[0];
    return found ? stateOf(found) : null;
  }

  /**
   * Refunds exactly `amountMinor` of the PaymentIntent `paymentRef`, once per
   * idempotency key. A refund Stripe accepted (`succeeded`, or `pending` /
   * `requires_action`, which Stripe finishes on its own) is made; one that
   * `failed` or was `canceled` is a `refund_failed` DomainError, as is a
   * refusal (already refunded, more than remains refundable, no such or no
   * paid PaymentIntent, the key used before with other parameters).
   * Unreachable, a 5xx or a rate limit: `payment_unavailable`, and a retry
   * under the same key finds any refund made. Stripe keeps a key 24 hours:
   * a retry must come within them, with the same amount.
   */
  async refund(request: RefundRequest): Promise<RefundResult> {
    if (!Number.isInteger(request.amountMinor) || request.amountMinor < 1) {
      throw new RangeError(
        `A refund is a whole number of minor units above 0, got ${request.amountMinor}`,
      );
    }
    let refund: Stripe.Response<Stripe.Refund>;
    try {
      refund = await this.stripe.refunds.create(
        {
          payment_intent: request.paymentRef,
          amount: request.amountMinor,
          metadata: { accountId: request.accountId, purchaseId: request.purchaseId },
        },
        { idempotencyKey: request.idempotencyKey },
      );
    } catch (error) {
      throw stripeErrorOf(error, 'refund');
    }
    // A replayed answer is the refund as it was then: one still under way may have failed since.
    const replayed = refund.lastResponse?.headers?.['idempotent-replayed'] === 'true';
    if (replayed && (refund.status === 'pending' || refund.status === 'requires_action')) {
      try {
        refund = await this.stripe.refunds.retrieve(refund.id);
      } catch (error) {
        throw stripeErrorOf(error, 'refund');
      }
    }
    if (refund.status === 'failed' || refund.status === 'canceled') {
      throw new DomainError(
        'refund_failed',
        `Stripe did not complete refund ${refund.id}: it is ${refund.status}` +
          (refund.failure_reason ? ` (${refund.failure_reason}).` : '.'),
      );
    }
    return { reference: refund.id };
  }

  /**
   * Checks `signature` (the `Stripe-Signature` header) against the raw body
   * and reduces the event to a `StripeWebhook`; a missing or bad signature is
   * an `invalid_signature` DomainError.
   */
  async verifyWebhook(rawBody: string, signature: string | undefined): Promise<StripeWebhook> {
    if (!signature) {
      throw new DomainError('invalid_signature', 'The Stripe-Signature header is missing.');
    }
    let event: Stripe.Event;
    try {
      event = await this.stripe.webhooks.constructEventAsync(
        rawBody,
        signature,
        this.webhookSecret,
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        throw new DomainError(
          'invalid_signature',
          // The SDK's first sentence: the rest is advice on several lines.
          `The Stripe-Signature header does not verify: ${error.message.split(/(?<=\.)\s/)[0].trim()}`,
        );
      }
      throw error;
    }
    return webhookOf(event);
  }

  /** The id of the customer's default payment method; null when there is none or no such customer. */
  private async defaultPaymentMethod(customerId: string): Promise<string | null> {
    let customer: Stripe.Customer | Stripe.DeletedCustomer;
    try {
      customer = await this.stripe.customers.retrieve(customerId);
    } catch (error) {
      if (
        error instanceof Stripe.errors.StripeInvalidRequestError &&
        error.code === 'resource_missing'
      ) {
        return null;
      }
      throw stripeErrorOf(error);
    }
    if (customer.deleted) return null;
    const method = customer.invoice_settings?.default_payment_method ?? null;
    return typeof method === 'string' ? method : (method?.id ?? null);
  }
}

/**
 * The PaymentIntent a charge creates. The customer is present (in the widget)
 * and can authenticate, so it is not `off_session`: a bank's check comes back
 * as `requires_action`. A saved card needs no redirect, and Stripe refuses a
 * confirmation that might redirect without a `return_url` — hence
 * `allow_redirects: 'never'`. An auto top-up (`offSession`) passes
 * `off_session: true`: Stripe then declines with `authentication_required`
 * instead of asking the absent customer.
 */
function paymentIntentParams(
  request: ChargeRequest,
  customer: string,
  paymentMethod: string,
): Stripe.PaymentIntentCreateParams {
  return {
    amount: request.amountMinor,
    currency: request.currency.toLowerCase(),
    customer,
    payment_method: paymentMethod,
    confirm: true,
    ...(request.offSession ? { off_session: true } : {}),
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    description: request.description,
    metadata: {
      accountId: request.accountId,
      packageId: request.packageId,
      purchaseKey: request.purchaseKey,
      chargeKey: request.idempotencyKey,
      // Stripe stores no empty metadata value: an empty attempt comes back missing.
      attempt: request.attempt,
    },
  };
}

/** Where a PaymentIntent stands, in the port's terms. */
function stateOf(intent: Stripe.PaymentIntent): ChargeResult {
  const reference = intent.id;
  switch (intent.status) {
    case 'succeeded':
      return { status: 'approved', reference };
    case 'requires_action':
      if (!intent.client_secret) throw new Error(`PaymentIntent ${reference} has no client_secret`);
      return { status: 'requires_action', reference, clientSecret: intent.client_secret };
    case 'requires_payment_method':
    case 'canceled':
      return {
        status: 'declined',
        reason:
          intent.last_payment_error?.message ??
          (intent.status === 'canceled'
            ? 'The payment was canceled.'
            : 'The payment did not go through; nothing was charged.'),
      };
    case 'processing':
    case 'requires_confirmation':
    case 'requires_capture':
    default:
      // Not decided yet (or a status newer than this code): neither paid nor declined.
      return { status: 'processing', reference };
  }
}

function paymentMethodRequired(reason: string): ChargeResult {
  return { status: 'declined', code: 'payment_method_required', reason };
}

/**
 * Stripe's failures in the port's terms: unreachable (network, 5xx, rate
 * limit) → `payment_unavailable`; an idempotency key used with other
 * parameters → `charge_conflict` (a charge) or `refund_failed` (a refund);
 * and for a refund, a refusal (an invalid request: already refunded, too
 * large an amount, no such PaymentIntent; a card error) → `refund_failed`
 * with Stripe's message. Anything else (a wrong secret key, say) as it is.
 */
function stripeErrorOf(
  error: unknown,
  what: 'PaymentIntent' | 'refund' = 'PaymentIntent',
): unknown {
  const { errors } = Stripe;
  if (isUnreachable(error)) return unavailable(error, what);
  const refund = what === 'refund';
  if (error instanceof errors.StripeIdempotencyError) {
    return new DomainError(
      refund ? 'refund_failed' : 'charge_conflict',
      `Stripe holds a ${refund ? 'refund request' : 'request'} under this purchase's ` +
        `${refund ? 'refund' : 'payment'} key with other parameters (${error.message}); ` +
        `this request was refused and made no new ${refund ? 'refund' : 'charge'}.`,
    );
  }
  if (
    refund &&
    (error instanceof errors.StripeInvalidRequestError || error instanceof errors.StripeCardError)
  ) {
    return new DomainError('refund_failed', `Stripe refused the refund: ${error.message}`);
  }
  return error;
}

/** Stripe could not be reached, failed (5xx, including a 409 it kept answering) or limited the rate. */
function isUnreachable(
  error: unknown,
): error is
  | Stripe.errors.StripeConnectionError
  | Stripe.errors.StripeAPIError
  | Stripe.errors.StripeRateLimitError {
  const { errors } = Stripe;
  return (
    error instanceof errors.StripeConnectionError ||
    error instanceof errors.StripeAPIError ||
    error instanceof errors.StripeRateLimitError
  );
}

function unavailable(error: Error, made: 'PaymentIntent' | 'refund'): DomainError {
  return new DomainError(
    'payment_unavailable',
    `Stripe could not be reached or did not answer (${error.message}). ` +
      `A retry with the same key finds any ${made} already made instead of making another.`,
  );
}

function webhookOf(event: Stripe.Event): StripeWebhook {
  const ignored = { id: event.id, type: 'ignored', stripeType: event.type } as const;
  switch (event.type) {
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed': {
      const intent = event.data.object;
      const { accountId, purchaseKey, chargeKey, attempt = '' } = intent.metadata;
      // Not one of ours (another integration on the same Stripe account).
      if (!accountId || !purchaseKey || !chargeKey) return ignored;
      const ours = { paymentIntentId: intent.id, accountId, purchaseKey, chargeKey, attempt };
      if (event.type === 'payment_intent.succeeded') {
        return { id: event.id, type: event.type, ...ours };
      }
      const reason = intent.last_payment_error?.message ?? 'The payment failed.';
      return { id: event.id, type: event.type, ...ours, reason };
    }
    case 'charge.refunded': {
      const charge = event.data.object;
      const intent = charge.payment_intent;
      if (!intent) return ignored;
      return {
        id: event.id,
        type: 'charge.refunded',
        paymentIntentId: typeof intent === 'string' ? intent : intent.id,
        amountRefundedMinor: charge.amount_refunded,
        amountMinor: charge.amount,
      };
    }
    default:
      return ignored;
  }
}

/** The SDK's host/port/protocol for an API base such as `http://127.0.0.1:12111`. */
function addressOf(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiBase);
  const protocol = url.protocol.replace(/:$/, '');
  if (protocol !== 'http' && protocol !== 'https') {
    throw new Error(`The Stripe API base must be an http(s) URL, got ${apiBase}`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new Error(`The Stripe API base must be an origin without a path, got ${apiBase}`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80,
    protocol,
  };
}
