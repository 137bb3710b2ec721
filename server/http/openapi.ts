import { z } from 'zod';
import { idempotencyKeySchema, idSchema, schemas } from './validation.js';

const json = (schema: z.ZodType) => ({
  content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } },
});

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const ok = (description: string, status = '200') => ({
  [status]: { description, content: { 'application/json': {} } },
});

const accountParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: z.toJSONSchema(idSchema),
};

const keyParam = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  schema: z.toJSONSchema(idempotencyKeySchema),
};

const auth = [{ bearer: [] }];
const common = {
  '400': errorResponse('Bad input; nothing was changed.'),
  '401': errorResponse('Missing, malformed or expired credentials.'),
  '403': errorResponse(
    'A widget token for another account, or on a secret-key route, or a view-only token on a change.',
  ),
  '404': errorResponse('Unknown account, package or plan.'),
};

let cached: object | undefined;

/** The OpenAPI 3.1 description of the API, served at `/v1/openapi.json`. */
export function openApiDocument(): object {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'minute-topup API',
      version: '1.0.0',
      description:
        'Extra voice-minute packages and the minute ledger. Time in integer seconds, money in integer minor units.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The secret key (server to server) or a widget token from POST /v1/sessions.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
    },
    paths: {
      '/v1/openapi.json': {
        get: { summary: 'This document', responses: ok('The OpenAPI 3.1 document.') },
      },
      '/v1/catalog': {
        get: { summary: 'Packages, plan tiers and currency', responses: ok('The catalog.') },
      },
      '/v1/sessions': {
        post: {
          summary:
            'Mint a short-lived widget token for one account (secret key); scope `buy` (default) ' +
            'or `view` (reads only: a 403 on purchases and any other change)',
          security: auth,
          requestBody: json(schemas.session),
          responses: { ...ok('{token, accountId, expiresAt, scope}', '201'), ...common },
        },
      },
      '/v1/accounts/{id}': {
        put: {
          summary: 'Create or change an account (secret key)',
          security: auth,
          parameters: [accountParam],
          requestBody: json(schemas.account),
          responses: { ...ok('Changed.'), ...ok('Created.', '201'), ...common },
        },
        get: {
          summary: 'The account: plan, cycle anchor and linked Stripe customer (secret key)',
          security: auth,
          parameters: [accountParam],
          responses: { ...ok('{id, planId, cycleAnchor, stripeCustomerId}'), ...common },
        },
      },
      '/v1/accounts/{id}/balance': {
        get: {
          summary: 'Plan and extra balances of the current cycle',
          security: auth,
          parameters: [accountParam],
          responses: { ...ok('The balance.'), ...common },
        },
      },
      '/v1/accounts/{id}/events': {
        get: {
          summary:
            'The live balance: text/event-stream of `balance` events (data: the balance, id: its ' +
            'version), the current one first unless Last-Event-ID is current, then one after each ' +
            'change; a comment every 15 s; ends when the token expires',
          security: auth,
          parameters: [
            accountParam,
            { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
          ],
          responses: {
            '200': { description: 'The stream.', content: { 'text/event-stream': {} } },
            ...common,
          },
        },
      },
      '/v1/accounts/{id}/purchases': {
        get: {
          summary: 'Every package bought, newest first',
          security: auth,
          parameters: [accountParam],
          responses: { ...ok('{purchases}'), ...common },
        },
        post: {
          summary: 'Buy a package (secret key, or a token of scope `buy`)',
          security: auth,
          parameters: [accountParam, keyParam],
          requestBody: json(schemas.purchase),
          responses: {
            ...ok('{purchase, balance}: paid and credited.', '201'),
            ...ok(
              '{purchase, clientSecret}: not paid yet. `requires_action`: the customer must ' +
                'authenticate with `clientSecret` (Stripe.js `handleNextAction`), then send the ' +
                'same request with the same key; `pending`: the processor is still working.',
              '202',
            ),
            ...common,
            '402': errorResponse(
              '`payment_declined`: the payment was declined; `payment_method_required`: no ' +
                'payment method on file. Nothing was charged or credited; the key may be used again.',
            ),
            '502': errorResponse(
              '`payment_unavailable`: the payment processor could not be reached. A retry with ' +
                'the same key finds any charge already made.',
            ),
            '409': errorResponse(
              "`charge_conflict`: the payment gateway holds a charge under this purchase's key " +
                'for another account, amount or currency. This request made no new charge and ' +
                'credited nothing; the charge on record stands as it was.',
            ),
            '422': errorResponse('The Idempotency-Key was used for another purchase.'),
          },
        },
      },
      '/v1/webhooks/stripe': {
        post: {
          summary:
            "Stripe's events (with MINUTE_TOPUP_PAYMENTS=stripe): payment_intent.succeeded, " +
            'payment_intent.payment_failed, charge.refunded; each applied once',
          parameters: [
            { name: 'Stripe-Signature', in: 'header', required: true, schema: { type: 'string' } },
          ],
          requestBody: { content: { 'application/json': {} } },
          responses: {
            ...ok('{received: true, result}'),
            '400': errorResponse(
              '`invalid_signature`: the signature does not verify; nothing applied.',
            ),
          },
        },
      },
      '/v1/accounts/{id}/grants': {
        post: {
          summary:
            'Grant free minutes (secret key): a package of kind `grant`, price 0, drawn oldest ' +
            'first with the others',
          security: auth,
          parameters: [accountParam, keyParam],
          requestBody: json(schemas.grant),
          responses: {
            ...ok('{purchase, balance}; the same key and body replay the first answer.', '201'),
            ...common,
            '422': errorResponse(
              'The Idempotency-Key was used for another grant, a refund or a purchase.',
            ),
          },
        },
      },
      '/v1/accounts/{id}/purchases/{purchaseId}/refund': {
        post: {
          summary:
            'Refund a purchase (secret key): its remaining minutes are voided and the unused ' +
            'share of its price (pro rata, rounded down to the minor unit) is refunded through ' +
            'the payment gateway. No body.',
          security: auth,
          parameters: [accountParam, { ...accountParam, name: 'purchaseId' }, keyParam],
          responses: {
            ...ok(
              '{purchase, balance}: `status: refunded` with `refundedSeconds`, `refundMinor` and ' +
                '`refundedAt`; the same key replays it.',
            ),
            ...common,
            '404': errorResponse('`purchase_not_found` or `account_not_found`.'),
            '409': errorResponse(
              'Already refunded, a grant, used up, or not paid yet: nothing was changed.',
            ),
            '422': errorResponse('The Idempotency-Key was used for another operation.'),
            '502': errorResponse(
              '`payment_unavailable` or `refund_failed`: the minutes are voided and the refund ' +
                'is owed; a retry with the same key (or the start-up recovery) pays it once.',
            ),
          },
        },
      },
      '/v1/accounts/{id}/ledger.csv': {
        get: {
          summary:
            'The ledger as CSV (secret key), streamed, oldest first: one row per purchase, grant, ' +
            'refund and usage allocation (columns at, type, purchase_id, call_id, name, source, ' +
            'seconds, extra_seconds, amount_minor, currency, reason); `extra_seconds` adds up to ' +
            'the extra balance when the export began',
          security: auth,
          parameters: [accountParam],
          responses: {
            '200': { description: 'The CSV.', content: { 'text/csv': {} } },
            ...common,
          },
        },
      },
      '/v1/accounts/{id}/usage': {
        get: {
          summary:
            'The calls, newest first, each with its split and every package part named ' +
            '(`{usage, nextCursor}`); `limit` 1–100 (default 20), `cursor` from the page before',
          security: auth,
          parameters: [
            accountParam,
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 100 },
            },
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
          ],
          responses: { ...ok('{usage, nextCursor}'), ...common },
        },
        post: {
          summary: 'Record the seconds of one call (secret key)',
          security: auth,
          parameters: [accountParam],
          requestBody: json(schemas.usage),
          responses: {
            ...ok('{usage, balance}; a repeated callId returns the first result.'),
            ...common,
            '409': errorResponse('The callId was recorded with other figures.'),
            '422': errorResponse(
              '`occurred_before_account`: occurredAt lies before the account existed (its ' +
                'creation, or its cycle anchor if set earlier); nothing was changed.',
            ),
          },
        },
      },
      '/v1/accounts/{id}/auto-topup': {
        get: {
          summary:
            'Auto top-up: `{enabled, thresholdMinutes, packageId, monthlyLimit, status, ' +
            'pausedReason?, cycleCount}` (an account never set answers the defaults, off)',
          security: auth,
          parameters: [accountParam],
          responses: { ...ok('The settings.'), ...common },
        },
        put: {
          summary:
            'Change auto top-up (secret key, or a token of scope `buy`); resumes a paused one. ' +
            'When a call leaves plan + extra minutes at or below the threshold, and fewer than ' +
            '`monthlyLimit` auto purchases were made this cycle, one package is bought ' +
            'off-session after the call is recorded',
          security: auth,
          parameters: [accountParam],
          requestBody: json(schemas.autoTopup),
          responses: { ...ok('The settings.'), ...common },
        },
      },
      '/v1/webhooks/deliveries': {
        get: {
          summary:
            'The webhooks to the host, newest first (secret key): `?status=pending|delivered|failed`, ' +
            '`limit` 1–500 (default 100); `failed` ones were retried for 24 hours',
          security: auth,
          parameters: [
            {
              name: 'status',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
            },
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 500 },
            },
          ],
          responses: { ...ok('{deliveries}'), ...common },
        },
      },
      '/v1/accounts/{id}/recommendation': {
        get: {
          summary: 'Whether to suggest a plan upgrade, with the figures behind it',
          security: auth,
          parameters: [accountParam],
          responses: { ...ok('The recommendation.'), ...common },
        },
      },
    },
  };
  return cached;
}
