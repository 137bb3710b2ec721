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

const auth = [{ bearer: [] }];
const common = {
  '400': errorResponse('Bad input; nothing was changed.'),
  '401': errorResponse('Missing, malformed or expired credentials.'),
  '403': errorResponse('A widget token for another account, or on a secret-key route.'),
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
      '/v1/catalog': {
        get: { summary: 'Packages, plan tiers and currency', responses: ok('The catalog.') },
      },
      '/v1/sessions': {
        post: {
          summary: 'Mint a short-lived widget token for one account (secret key)',
          security: auth,
          requestBody: json(schemas.session),
          responses: { ...ok('{token, accountId, expiresAt}', '201'), ...common },
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
          summary: 'Buy a package',
          security: auth,
          parameters: [
            accountParam,
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: true,
              schema: z.toJSONSchema(idempotencyKeySchema),
            },
          ],
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
      '/v1/accounts/{id}/usage': {
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
