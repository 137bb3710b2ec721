import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local stand-in for the parts of Stripe's v1 API the gateway uses, served
 * on 127.0.0.1 so the real SDK talks to it over HTTP (`apiBase: double.url`).
 *
 * Emulated as Stripe does it: form-encoded bodies and queries with bracket
 * keys, Bearer (or Basic) auth with a 401 for another key, JSON objects with
 * their `object` field, `{error: {type, code, message, param, …}}` bodies with
 * Stripe's statuses, a `Request-Id` on every answer, unknown parameters
 * refused, empty metadata values not stored, lists newest first with
 * `has_more`/`starting_after`, and idempotency: a POST's answer is stored
 * under its `Idempotency-Key` once the endpoint has started executing (a
 * validation error is not stored), a repeat with the same endpoint and
 * parameters gets it back (`Idempotent-Replayed: true`, `Original-Request`),
 * one with other parameters or another endpoint a 400 `idempotency_error`.
 * Concurrent requests under one key are processed once: by default the others
 * wait and replay; with `concurrentRequests: 'conflict'` they get Stripe's own
 * 409 `idempotency_key_in_use` (which the SDK retries).
 *
 * Scripted by the payment method: `pm_card_visa` succeeds,
 * `pm_card_chargeDeclined` is declined (402 `card_declined`),
 * `pm_card_authenticationRequired` asks for 3-D Secure (`requires_action`; a 402
 * `authentication_required` when `off_session=true`), `pm_card_processing`
 * (ours, not Stripe's) stays `processing`, `pm_card_pendingRefund` succeeds
 * and its refunds stay `pending` (until `settleRefund`).
 *
 * Refunds (`POST /v1/refunds`, `GET /v1/refunds/:id`) of a PaymentIntent's
 * or a charge's successful charge: all that remains unless `amount`; more
 * than remains is a 400 `invalid_request_error` on `amount` (Stripe's "…is
 * greater than charge amount" / "…than unrefunded amount on charge"), a
 * charge refunded in full a 400 `charge_already_refunded`, a PaymentIntent
 * with no successful charge a 400 too; these refusals are stored under the
 * key like any executed request. A refund adds to the charge's
 * `amount_refunded` (a pending one too; one that fails gives it back).
 *
 * Not emulated: other resources and endpoints, `expand`, PaymentMethod
 * objects (a payment method stays its alias, not a fresh `pm_…`), attaching
 * payment methods to customers, the 24-hour expiry of idempotency keys,
 * captures, Connect, API-version differences, `Stripe-Should-Retry`, listing
 * or updating refunds, refunds that need the customer (`requires_action`).
 */
export interface StripeDouble {
  /** `http://127.0.0.1:<port>`, for the gateway's `apiBase`. */
  url: string;
  secretKey: string;
  webhookSecret: string;
  /** Every request in arrival order; `status` is set once answered. */
  requests: LoggedRequest[];
  close(): Promise<void>;
  /** Adds (or replaces) a customer whose `invoice_settings.default_payment_method` is `defaultPaymentMethod`. */
  addCustomer(id: string, defaultPaymentMethod: string | null): void;
  /** Deletes a customer as Stripe does: it is still retrieved, as `{id, object, deleted: true}`. */
  deleteCustomer(id: string): void;
  /** The customer authenticated (→ `succeeded`) or failed to (→ `requires_payment_method`). */
  authenticate(paymentIntentId: string, ok: boolean): void;
  /**
   * The next `n` POSTs (or requests matching `match`) are processed in full —
   * a PaymentIntent is made, its answer stored under its key — and then the
   * connection is destroyed instead of answered: a network failure after
   * Stripe acted.
   */
  failNextResponses(n: number, match?: (request: LoggedRequest) => boolean): void;
  /**
   * The next `n` requests (matching `match`) are answered with this error
   * before anything is done or stored: Stripe down (500 `api_error`), a rate
   * limit (429 `rate_limit_error`).
   */
  rejectNextRequests(
    n: number,
    status: number,
    error: { type: string; code?: string; message: string },
    match?: (request: LoggedRequest) => boolean,
  ): void;
  /** Holds every PaymentIntent creation (after its key is taken) until the returned function is called. */
  holdPaymentIntents(): () => void;
  /** Resolves once `count` requests matching `match` have arrived. */
  whenRequests(count: number, match?: (request: LoggedRequest) => boolean): Promise<void>;
  /** All PaymentIntents made, oldest first (copies). */
  paymentIntents(): PaymentIntentObject[];
  /** A signed event envelope around `object`: the raw body and its `Stripe-Signature` header. */
  webhook(type: string, object: object): { body: string; signature: string };
  succeededEvent(paymentIntentId: string): { body: string; signature: string };
  /** `payment_intent.payment_failed` with the PaymentIntent as it stands (authenticate it with `false` first). */
  failedEvent(paymentIntentId: string): { body: string; signature: string };
  /**
   * Refunds the PaymentIntent's charge (all of it unless `amountMinor`), as
   * the Dashboard would (a refund is made, capped at what remains), and
   * returns `charge.refunded`.
   */
  refundedEvent(paymentIntentId: string, amountMinor?: number): { body: string; signature: string };
  /** `charge.refunded` for the PaymentIntent's charge as it stands (after refunds made through the API), refunding nothing. */
  chargeRefundedEvent(paymentIntentId: string): { body: string; signature: string };
  /** All refunds made, oldest first (copies). */
  refunds(): RefundObject[];
  /** The PaymentIntent's latest charge: its id, amount and `amount_refunded`. */
  chargeOf(paymentIntentId: string): { id: string; amount: number; amount_refunded: number };
  /** A pending refund ends: `succeeded`, or `failed` / `canceled` (its amount is refundable again). */
  settleRefund(refundId: string, status: 'succeeded' | 'failed' | 'canceled'): void;
}

export interface LoggedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** The parsed body (POST) or query (GET), brackets turned into nested objects. */
  params: Params;
  status?: number;
  replayed?: boolean;
  /** The connection was destroyed instead of answered (`failNextResponses`). */
  dropped?: boolean;
}

export type Params = { [key: string]: string | Params };

export type PaymentIntentObject = {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  customer: string | null;
  payment_method: string | null;
  status: string;
  client_secret: string;
  metadata: Record<string, string>;
  created: number;
  last_payment_error: Record<string, unknown> | null;
  next_action: Record<string, unknown> | null;
  latest_charge: string | null;
  [field: string]: unknown;
};

export type RefundObject = {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  currency: string;
  metadata: Record<string, string>;
  payment_intent: string;
  status: string;
  created: number;
  failure_reason?: string;
  [field: string]: unknown;
};

type Answer = { status: number; body: unknown; executed: boolean };
type Stored = { endpoint: string; params: string; status: number; body: string; requestId: string };
type Charge = { id: string; paymentIntent: string; amount: number; amountRefunded: number };

const TEST_METHODS = new Set([
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_authenticationRequired',
  'pm_card_processing',
  'pm_card_pendingRefund',
]);
const CREATE_PARAMS = new Set([
  'amount',
  'currency',
  'customer',
  'payment_method',
  'confirm',
  'automatic_payment_methods',
  'off_session',
  'description',
  'metadata',
  'return_url',
  'receipt_email',
  'capture_method',
  'setup_future_usage',
  'statement_descriptor_suffix',
  'expand',
]);
const REFUND_PARAMS = new Set([
  'amount',
  'charge',
  'currency',
  'customer',
  'expand',
  'instructions_email',
  'metadata',
  'origin',
  'payment_intent',
  'reason',
  'refund_application_fee',
  'reverse_transfer',
]);
const AUTHENTICATION_FAILED =
  'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.';

const id = (prefix: string, length = 24) =>
  `${prefix}_${randomBytes(length).toString('base64url').replace(/[-_]/g, '').slice(0, length)}`;
const now = () => Math.floor(Date.now() / 1000);

/** Starts a Stripe test double on 127.0.0.1 (a free port). */
export async function startStripeDouble(
  options: {
    secretKey?: string;
    webhookSecret?: string;
    concurrentRequests?: 'wait' | 'conflict';
  } = {},
): Promise<StripeDouble> {
  const secretKey = options.secretKey ?? 'sk_test_double';
  const webhookSecret = options.webhookSecret ?? 'whsec_double';
  const customers = new Map<
    string,
    { defaultPaymentMethod: string | null; deleted: boolean; created: number }
  >();
  const intents: PaymentIntentObject[] = [];
  const charges = new Map<string, Charge>();
  const refunds: RefundObject[] = [];
  const stored = new Map<string, Stored>();
  const inFlight = new Map<string, Promise<void>>();
  const requests: LoggedRequest[] = [];
  const waiters: { count: number; match: (r: LoggedRequest) => boolean; resolve: () => void }[] =
    [];
  let failures = { n: 0, match: (_: LoggedRequest) => false };
  let rejections = { n: 0, status: 0, error: {}, match: (_: LoggedRequest) => false };
  let hold: Promise<void> | null = null;

  const error = (status: number, fields: Record<string, unknown>): Answer => ({
    status,
    body: { error: fields },
    executed: false,
  });
  const missing = (resource: string, key: string, param = 'id') =>
    error(404, {
      type: 'invalid_request_error',
      code: 'resource_missing',
      param,
      message: `No such ${resource}: '${key}'`,
      doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
    });
  const invalid = (message: string, param?: string, code?: string) =>
    error(400, {
      type: 'invalid_request_error',
      message,
      ...(param ? { param } : {}),
      ...(code ? { code } : {}),
    });
  const find = (intentId: string) => intents.find((pi) => pi.id === intentId);

  function retrieveCustomer(customerId: string): Answer {
    const customer = customers.get(customerId);
    if (!customer) return missing('customer', customerId);
    if (customer.deleted) {
      return {
        status: 200,
        body: { id: customerId, object: 'customer', deleted: true },
        executed: true,
      };
    }
    return {
      status: 200,
      executed: true,
      body: {
        id: customerId,
        object: 'customer',
        created: customer.created,
        livemode: false,
        email: null,
        metadata: {},
        invoice_settings: {
          custom_fields: null,
          default_payment_method: customer.defaultPaymentMethod,
          footer: null,
          rendering_options: null,
        },
      },
    };
  }

  /** The `metadata` to store, or the refusal of a bad one. */
  function metadataOf(params: Params): { metadata: Record<string, string> } | { refusal: Answer } {
    const metadata: Record<string, string> = {};
    const given = typeof params.metadata === 'object' ? params.metadata : {};
    for (const [key, value] of Object.entries(given)) {
      const refuse = (message: string) => ({ refusal: invalid(message, `metadata[${key}]`) });
      if (typeof value !== 'string') return refuse('Invalid metadata value.');
      if (key.length > 40) return refuse('Metadata keys can be at most 40 characters.');
      if (value.length > 500) return refuse('Metadata values can be at most 500 characters.');
      // Stripe keeps no empty value: setting one unsets the key.
      if (value !== '') metadata[key] = value;
    }
    return { metadata };
  }

  function createPaymentIntent(params: Params): Answer {
    for (const key of Object.keys(params)) {
      if (!CREATE_PARAMS.has(key)) {
        return invalid(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
      }
    }
    const text = (key: string) =>
      typeof params[key] === 'string' ? (params[key] as string) : undefined;
    const nested = (key: string): Params =>
      typeof params[key] === 'object' ? (params[key] as Params) : {};
    const amount = text('amount');
    if (amount === undefined)
      return invalid('Missing required param: amount.', 'amount', 'parameter_missing');
    if (!/^\d+$/.test(amount))
      return invalid(`Invalid integer: ${amount}`, 'amount', 'parameter_invalid_integer');
    if (Number(amount) < 1)
      return invalid('Amount must be at least 1.', 'amount', 'amount_too_small');
    const currency = text('currency');
    if (currency === undefined) {
      return invalid('Missing required param: currency.', 'currency', 'parameter_missing');
    }
    if (!/^[a-z]{3}$/i.test(currency)) return invalid(`Invalid currency: ${currency}.`, 'currency');
    const customer = text('customer') ?? null;
    if (customer !== null && (!customers.has(customer) || customers.get(customer)?.deleted)) {
      return missing('customer', customer, 'customer');
    }
    const paymentMethod = text('payment_method') ?? null;
    if (paymentMethod !== null && !TEST_METHODS.has(paymentMethod)) {
      return missing('PaymentMethod', paymentMethod, 'payment_method');
    }
    const automatic = nested('automatic_payment_methods');
    for (const key of Object.keys(automatic)) {
      if (key !== 'enabled' && key !== 'allow_redirects') {
        return invalid(
          `Received unknown parameter: automatic_payment_methods[${key}]`,
          `automatic_payment_methods[${key}]`,
          'parameter_unknown',
        );
      }
    }
    const checked = metadataOf(params);
    if ('refusal' in checked) return checked.refusal;
    const { metadata } = checked;
    const confirm = text('confirm') === 'true';
    const offSession = text('off_session') === 'true';
    if (confirm && !paymentMethod) {
      return invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    if (confirm && !text('return_url') && automatic.allow_redirects !== 'never') {
      return invalid(
        'This PaymentIntent is configured to accept payment methods enabled in your Dashboard. ' +
          'Because some of these payment methods might redirect your customer off of your page, ' +
          "you must provide a `return_url`. If you don't want to accept redirect-based payment methods, " +
          'set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` ' +
          'to `never` when creating Setup Intents and Payment Intents.',
      );
    }

    // From here on the endpoint executes: the answer is stored under the key.
    const intentId = id('pi');
    const intent: PaymentIntentObject = {
      id: intentId,
      object: 'payment_intent',
      amount: Number(amount),
      amount_capturable: 0,
      amount_received: 0,
      automatic_payment_methods:
        automatic.enabled === 'true'
          ? { enabled: true, allow_redirects: automatic.allow_redirects ?? 'always' }
          : null,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: 'automatic_async',
      client_secret: `${intentId}_secret_${id('s').slice(2)}`,
      confirmation_method: 'automatic',
      created: now(),
      currency: currency.toLowerCase(),
      customer,
      description: text('description') ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata,
      next_action: null,
      payment_method: paymentMethod,
      payment_method_types: ['card'],
      status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    };
    intents.push(intent);
    if (!confirm || !paymentMethod) return { status: 200, body: intent, executed: true };

    const charge = (): string => {
      const chargeId = id('ch');
      charges.set(chargeId, {
        id: chargeId,
        paymentIntent: intentId,
        amount: intent.amount,
        amountRefunded: 0,
      });
      intent.latest_charge = chargeId;
      return chargeId;
    };
    const decline = (code: string, declineCode: string, message: string): Answer => {
      const lastError = {
        type: 'card_error',
        code,
        decline_code: declineCode,
        message,
        charge: charge(),
        doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`,
        payment_method: { id: paymentMethod, object: 'payment_method', type: 'card' },
      };
      Object.assign(intent, { status: 'requires_payment_method', last_payment_error: lastError });
      return {
        status: 402,
        body: { error: { ...lastError, payment_intent: { ...intent } } },
        executed: true,
      };
    };
    switch (paymentMethod) {
      case 'pm_card_chargeDeclined':
        return decline('card_declined', 'generic_decline', 'Your card was declined.');
      case 'pm_card_authenticationRequired':
        if (offSession) {
          return decline(
            'authentication_required',
            'authentication_required',
            'Your card was declined. This transaction requires authentication.',
          );
        }
        Object.assign(intent, {
          status: 'requires_action',
          next_action: {
            type: 'use_stripe_sdk',
            use_stripe_sdk: { type: 'three_d_secure_redirect', source: id('src') },
          },
        });
        break;
      case 'pm_card_processing':
        intent.status = 'processing';
        break;
      default:
        Object.assign(intent, { status: 'succeeded', amount_received: intent.amount });
        charge();
    }
    return { status: 200, body: { ...intent }, executed: true };
  }

  /** Stripe's way of writing an amount in an error message: `$15.00`. */
  const money = (minor: number, currency: string) =>
    currency === 'usd'
      ? `$${(minor / 100).toFixed(2)}`
      : `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;

  function createRefund(params: Params): Answer {
    for (const key of Object.keys(params)) {
      if (!REFUND_PARAMS.has(key)) {
        return invalid(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
      }
    }
    const text = (key: string) =>
      typeof params[key] === 'string' ? (params[key] as string) : undefined;
    const amountText = text('amount');
    if (amountText !== undefined && !/^\d+$/.test(amountText)) {
      return invalid(`Invalid integer: ${amountText}`, 'amount', 'parameter_invalid_integer');
    }
    if (amountText !== undefined && Number(amountText) < 1) {
      return invalid('Invalid positive integer', 'amount', 'parameter_invalid_integer');
    }
    const reason = text('reason');
    if (
      reason !== undefined &&
      !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)
    ) {
      return invalid(
        `Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`,
        'reason',
      );
    }
    const checked = metadataOf(params);
    if ('refusal' in checked) return checked.refusal;
    const { metadata } = checked;
    const intentId = text('payment_intent');
    const chargeId = text('charge');
    if (intentId === undefined && chargeId === undefined) {
      return invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
      );
    }
    let charge: Charge | undefined;
    if (intentId !== undefined) {
      const intent = find(intentId);
      if (!intent) return missing('payment_intent', intentId, 'payment_intent');
      charge = intent.latest_charge ? charges.get(intent.latest_charge) : undefined;
      if (!charge || intent.status !== 'succeeded') {
        return {
          ...invalid('This PaymentIntent does not have a successful charge to refund.'),
          executed: true,
        };
      }
      if (chargeId !== undefined && chargeId !== charge.id) {
        return invalid(
          `The charge ${chargeId} does not belong to PaymentIntent ${intentId}.`,
          'charge',
        );
      }
    } else if (chargeId !== undefined) {
      charge = charges.get(chargeId);
      if (!charge) return missing('charge', chargeId, 'charge');
    }
    if (!charge) throw new Error('unreachable: a refund without a charge');
    const intent = find(charge.paymentIntent);
    if (!intent) throw new Error(`The Stripe double lost PaymentIntent ${charge.paymentIntent}`);

    // From here on the endpoint executes: a refusal is stored under the key too.
    const remaining = charge.amount - charge.amountRefunded;
    if (remaining === 0) {
      return {
        ...invalid(
          `Charge ${charge.id} has already been refunded.`,
          undefined,
          'charge_already_refunded',
        ),
        executed: true,
      };
    }
    const amount = amountText === undefined ? remaining : Number(amountText);
    if (amount > remaining) {
      const than =
        charge.amountRefunded === 0
          ? `charge amount (${money(charge.amount, intent.currency)})`
          : `unrefunded amount on charge (${money(remaining, intent.currency)})`;
      return {
        ...invalid(
          `Refund amount (${money(amount, intent.currency)}) is greater than ${than}`,
          'amount',
        ),
        executed: true,
      };
    }
    const refund = makeRefund(charge, intent, amount, metadata, reason ?? null);
    return { status: 200, body: { ...refund }, executed: true };
  }

  /** Makes a refund of `amount` (at most what remains) on `charge`. */
  function makeRefund(
    charge: Charge,
    intent: PaymentIntentObject,
    amount: number,
    metadata: Record<string, string>,
    reason: string | null,
  ): RefundObject {
    const pending = intent.payment_method === 'pm_card_pendingRefund';
    const refund: RefundObject = {
      id: id('re'),
      object: 'refund',
      amount,
      balance_transaction: pending ? null : id('txn'),
      charge: charge.id,
      created: now(),
      currency: intent.currency,
      destination_details: {
        card: {
          reference_status: pending ? 'pending' : 'available',
          reference_type: 'acquirer_reference_number',
          type: 'refund',
        },
        type: 'card',
      },
      metadata,
      payment_intent: intent.id,
      reason,
      receipt_number: null,
      source_transfer_reversal: null,
      status: pending ? 'pending' : 'succeeded',
      transfer_reversal: null,
    };
    charge.amountRefunded += amount;
    refunds.push(refund);
    return refund;
  }

  function listPaymentIntents(query: Params): Answer {
    const limitText = typeof query.limit === 'string' ? query.limit : '10';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) {
      return invalid(
        'This value must be between 1 and 100 (it currently is ' + limitText + ').',
        'limit',
      );
    }
    const created = typeof query.created === 'object' ? query.created : {};
    const bound = (key: string) =>
      typeof created[key] === 'string' ? Number(created[key]) : undefined;
    const [gte, gt, lte, lt] = ['gte', 'gt', 'lte', 'lt'].map(bound);
    let list = intents
      .map((pi, order) => ({ pi, order }))
      .filter(({ pi }) => typeof query.customer !== 'string' || pi.customer === query.customer)
      .filter(({ pi }) => gte === undefined || pi.created >= gte)
      .filter(({ pi }) => gt === undefined || pi.created > gt)
      .filter(({ pi }) => lte === undefined || pi.created <= lte)
      .filter(({ pi }) => lt === undefined || pi.created < lt)
      .sort((a, b) => b.pi.created - a.pi.created || b.order - a.order)
      .map(({ pi }) => pi);
    if (typeof query.starting_after === 'string') {
      const at = list.findIndex((pi) => pi.id === query.starting_after);
      if (at < 0) return missing('payment_intent', query.starting_after, 'starting_after');
      list = list.slice(at + 1);
    }
    return {
      status: 200,
      executed: true,
      body: {
        object: 'list',
        data: list.slice(0, limit).map((pi) => ({ ...pi })),
        has_more: list.length > limit,
        url: '/v1/payment_intents',
      },
    };
  }

  function route(method: string, path: string, params: Params): Answer | Promise<Answer> {
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (method === 'GET' && customer) return retrieveCustomer(decodeURIComponent(customer[1]));
    if (method === 'POST' && path === '/v1/payment_intents') {
      if (hold) return hold.then(() => createPaymentIntent(params));
      return createPaymentIntent(params);
    }
    if (method === 'GET' && path === '/v1/payment_intents') return listPaymentIntents(params);
    if (method === 'POST' && path === '/v1/refunds') return createRefund(params);
    const refund = /^\/v1\/refunds\/([^/]+)$/.exec(path);
    if (method === 'GET' && refund) {
      const found = refunds.find((r) => r.id === decodeURIComponent(refund[1]));
      return found
        ? { status: 200, body: { ...found }, executed: true }
        : missing('refund', decodeURIComponent(refund[1]));
    }
    const intent = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (method === 'GET' && intent) {
      const found = find(decodeURIComponent(intent[1]));
      return found
        ? { status: 200, body: { ...found }, executed: true }
        : missing('payment_intent', intent[1]);
    }
    return error(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  }

  /** Runs a POST under its idempotency key: once, whatever arrives at the same time. */
  async function idempotent(
    key: string,
    endpoint: string,
    params: Params,
    requestId: string,
    run: () => Answer | Promise<Answer>,
  ): Promise<{ status: number; body: string; replayOf?: string }> {
    const canonical = canonicalJson(params);
    for (;;) {
      const running = inFlight.get(key);
      if (!running) break;
      if (options.concurrentRequests === 'conflict') {
        return {
          status: 409,
          body: JSON.stringify({
            error: {
              type: 'idempotency_error',
              code: 'idempotency_key_in_use',
              message:
                'There is currently another in-progress request using this Idempotent Key (that probably means ' +
                `you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
            },
          }),
        };
      }
      await running;
    }
    const earlier = stored.get(key);
    if (earlier) {
      const refusal = (message: string) =>
        JSON.stringify({ error: { type: 'idempotency_error', message } });
      if (earlier.endpoint !== endpoint) {
        return {
          status: 400,
          body: refusal(
            `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${endpoint}' vs '${earlier.endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
          ),
        };
      }
      if (earlier.params !== canonical) {
        return {
          status: 400,
          body: refusal(
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          ),
        };
      }
      return { status: earlier.status, body: earlier.body, replayOf: earlier.requestId };
    }
    let done!: () => void;
    inFlight.set(key, new Promise<void>((resolve) => (done = resolve)));
    try {
      const answer = await run();
      const body = JSON.stringify(answer.body);
      if (answer.executed) {
        stored.set(key, { endpoint, params: canonical, status: answer.status, body, requestId });
      }
      return { status: answer.status, body };
    } finally {
      inFlight.delete(key);
      done();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = id('req', 14);
    const url = new URL(req.url ?? '/', 'http://stripe.double');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = parseForm(
      method === 'POST' ? Buffer.concat(chunks).toString('utf8') : url.search.slice(1),
    );
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : (value ?? null);
    };
    const key = method === 'POST' ? header('idempotency-key') : null;
    const logged: LoggedRequest = { method, path: url.pathname, idempotencyKey: key, params };
    requests.push(logged);
    for (const waiter of [...waiters]) {
      if (requests.filter(waiter.match).length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }

    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Request-Id': requestId,
      'Stripe-Version': header('stripe-version') ?? Stripe.API_VERSION,
    };
    if (key) headers['Idempotency-Key'] = key;
    const send = (status: number, body: string) => {
      logged.status = status;
      if (failures.n > 0 && failures.match(logged)) {
        failures.n -= 1;
        logged.dropped = true;
        req.socket.destroy();
        return;
      }
      res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
    };

    if (rejections.n > 0 && rejections.match(logged)) {
      rejections.n -= 1;
      return send(rejections.status, JSON.stringify({ error: rejections.error }));
    }
    const authError = authenticateRequest(header('authorization'), secretKey);
    if (authError) return send(401, JSON.stringify({ error: authError }));
    if (key && key.length > 255) {
      return send(
        400,
        JSON.stringify(invalid('Idempotency-Key must be at most 255 characters.').body),
      );
    }

    if (key) {
      const answer = await idempotent(key, `${method} ${url.pathname}`, params, requestId, () =>
        route(method, url.pathname, params),
      );
      if (answer.replayOf !== undefined) {
        logged.replayed = true;
        headers['Idempotent-Replayed'] = 'true';
        headers['Original-Request'] = answer.replayOf;
      }
      return send(answer.status, answer.body);
    }
    const answer = await route(method, url.pathname, params);
    return send(answer.status, JSON.stringify(answer.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((problem: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: String(problem) } }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const signer = new Stripe(secretKey);

  const webhook = (type: string, object: object) => {
    const body = JSON.stringify(
      {
        id: id('evt'),
        object: 'event',
        api_version: Stripe.API_VERSION,
        created: now(),
        data: { object },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
      },
      null,
      2,
    );
    return {
      body,
      signature: signer.webhooks.generateTestHeaderString({ payload: body, secret: webhookSecret }),
    };
  };
  const intentOrThrow = (intentId: string) => {
    const intent = find(intentId);
    if (!intent) throw new Error(`The Stripe double has no PaymentIntent ${intentId}`);
    return intent;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    webhookSecret,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    addCustomer(customerId, defaultPaymentMethod) {
      customers.set(customerId, { defaultPaymentMethod, deleted: false, created: now() });
    },
    deleteCustomer(customerId) {
      const customer = customers.get(customerId);
      if (customer) customer.deleted = true;
    },
    authenticate(intentId, ok) {
      const intent = intentOrThrow(intentId);
      if (intent.status !== 'requires_action') {
        throw new Error(
          `PaymentIntent ${intentId} does not wait for authentication (${intent.status})`,
        );
      }
      intent.next_action = null;
      if (ok) {
        const chargeId = id('ch');
        charges.set(chargeId, {
          id: chargeId,
          paymentIntent: intentId,
          amount: intent.amount,
          amountRefunded: 0,
        });
        Object.assign(intent, {
          status: 'succeeded',
          amount_received: intent.amount,
          latest_charge: chargeId,
        });
      } else {
        Object.assign(intent, {
          status: 'requires_payment_method',
          last_payment_error: {
            type: 'invalid_request_error',
            code: 'payment_intent_authentication_failure',
            message: AUTHENTICATION_FAILED,
            doc_url: 'https://stripe.com/docs/error-codes/payment-intent-authentication-failure',
            payment_method: { id: intent.payment_method, object: 'payment_method', type: 'card' },
          },
        });
      }
    },
    failNextResponses(n, match = (request) => request.method === 'POST') {
      failures = { n, match };
    },
    rejectNextRequests(n, status, rejection, match = () => true) {
      rejections = { n, status, error: rejection, match };
    },
    holdPaymentIntents() {
      let release!: () => void;
      hold = new Promise<void>((resolve) => (release = resolve));
      return () => {
        hold = null;
        release();
      };
    },
    whenRequests(count, match = () => true) {
      if (requests.filter(match).length >= count) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ count, match, resolve }));
    },
    paymentIntents: () => intents.map((pi) => structuredClone(pi)),
    webhook,
    succeededEvent: (intentId) =>
      webhook('payment_intent.succeeded', { ...intentOrThrow(intentId) }),
    failedEvent: (intentId) =>
      webhook('payment_intent.payment_failed', { ...intentOrThrow(intentId) }),
    refundedEvent(intentId, amountMinor) {
      const { intent, charge } = paidCharge(intentId);
      const amount = Math.min(charge.amount - charge.amountRefunded, amountMinor ?? charge.amount);
      if (amount > 0) makeRefund(charge, intent, amount, {}, null);
      return refundedEventOf(intent, charge);
    },
    chargeRefundedEvent(intentId) {
      const { intent, charge } = paidCharge(intentId);
      return refundedEventOf(intent, charge);
    },
    refunds: () => refunds.map((refund) => structuredClone(refund)),
    chargeOf(intentId) {
      const { charge } = paidCharge(intentId);
      return { id: charge.id, amount: charge.amount, amount_refunded: charge.amountRefunded };
    },
    settleRefund(refundId, status) {
      const refund = refunds.find((r) => r.id === refundId);
      if (!refund) throw new Error(`The Stripe double has no refund ${refundId}`);
      if (refund.status !== 'pending') {
        throw new Error(`Refund ${refundId} is not pending (${refund.status})`);
      }
      refund.status = status;
      if (status === 'succeeded') return;
      const charge = charges.get(refund.charge);
      if (charge) charge.amountRefunded -= refund.amount;
      if (status === 'failed') refund.failure_reason = 'declined';
    },
  };

  function paidCharge(intentId: string): { intent: PaymentIntentObject; charge: Charge } {
    const intent = intentOrThrow(intentId);
    const charge = intent.latest_charge ? charges.get(intent.latest_charge) : undefined;
    if (!charge || intent.status !== 'succeeded') {
      throw new Error(`PaymentIntent ${intentId} has no successful charge to refund`);
    }
    return { intent, charge };
  }

  function refundedEventOf(intent: PaymentIntentObject, charge: Charge) {
    return webhook('charge.refunded', {
      id: charge.id,
      object: 'charge',
      amount: charge.amount,
      amount_captured: charge.amount,
      amount_refunded: charge.amountRefunded,
      captured: true,
      currency: intent.currency,
      customer: intent.customer,
      metadata: intent.metadata,
      paid: true,
      payment_intent: intent.id,
      refunded: charge.amountRefunded === charge.amount,
      status: 'succeeded',
    });
  }
}

/** Stripe's answer to a request without the right secret key, or null when the key is right. */
function authenticateRequest(authorization: string | null, secretKey: string): object | null {
  let key = '';
  if (authorization?.startsWith('Bearer ')) key = authorization.slice('Bearer '.length).trim();
  else if (authorization?.startsWith('Basic ')) {
    key = Buffer.from(authorization.slice('Basic '.length), 'base64')
      .toString('utf8')
      .replace(/:.*$/, '');
  }
  if (key === secretKey) return null;
  // Stripe answers 401 with type invalid_request_error; the SDK makes it a StripeAuthenticationError.
  return {
    type: 'invalid_request_error',
    message: key
      ? `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`
      : "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
  };
}

/**
 * A form-encoded body or query as Stripe reads it: `metadata[accountId]=p`
 * becomes `{metadata: {accountId: 'p'}}`, `expand[0]=a` / `expand[]=a` an
 * object with keys `0`, `1`, ….
 */
export function parseForm(text: string): Params {
  const root: Params = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const head = /^[^[]*/.exec(name)?.[0] ?? name;
    const path = [head, ...[...name.slice(head.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1])];
    let node = root;
    path.forEach((part, index) => {
      const key = part === '' ? String(Object.keys(node).length) : part;
      if (index === path.length - 1) {
        node[key] = value;
      } else {
        if (typeof node[key] !== 'object') node[key] = {};
        node = node[key] as Params;
      }
    });
  }
  return root;
}

function canonicalJson(value: Params | string): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
    .join(',')}}`;
}
