import type { Context } from 'hono';
import { validator } from 'hono/validator';
import { z } from 'zod';
import { HttpError } from './errors.js';

/** Turns a zod failure into one sentence a developer can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

const jsonType = /^application\/([\w.-]+\+)?json$/i;

/**
 * Validates a JSON body against `schema`, answering in our error shape:
 * 415 for another content type, 400 for malformed JSON or a body that does
 * not fit (never the validator's raw output).
 */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return validator('json', (value, c: Context): z.output<S> => {
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim();
    if (!jsonType.test(type)) {
      throw new HttpError('unsupported_media_type', 'Send the body as application/json.');
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new HttpError('invalid_request', describeIssues(parsed.error));
    return parsed.data;
  });
}

export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1–128 letters, digits or . _ : -');

/** Validates a path parameter; a malformed id is a 400, an unknown one a 404 later. */
export function pathId(c: Context, name = 'id'): string {
  const parsed = idSchema.safeParse(c.req.param(name));
  if (!parsed.success) {
    throw new HttpError('invalid_request', `${name}: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** An ISO 8601 instant with its offset, from the year 2000 on (no two-digit-year surprises). */
const isoInstant = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) >= Date.UTC(2000, 0, 1), 'must be on or after 2000-01-01');

/** A query's `limit`: a whole number from 1 to `max` (at most three digits), or none. */
function pageLimit(max: number) {
  const message = `must be a whole number from 1 to ${max}`;
  return z
    .string()
    .regex(/^\d{1,3}$/, message)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, message)
    .optional();
}

export const schemas = {
  session: z.strictObject({
    accountId: idSchema,
    ttlSeconds: z.int().min(60).max(86_400).optional(),
    scope: z.enum(['buy', 'view']).optional(),
  }),
  account: z.strictObject({
    planId: idSchema,
    cycleAnchor: isoInstant.optional(),
    stripeCustomerId: z
      .string()
      .regex(/^cus_[A-Za-z0-9_]{1,250}$/, 'must be a Stripe customer id (cus_…)')
      .nullable()
      .optional(),
  }),
  purchase: z.strictObject({ packageId: idSchema }),
  grant: z.strictObject({
    minutes: z.int().min(1).max(100_000),
    reason: z
      .string()
      .trim()
      .min(1, 'must say why (1–200 characters)')
      .max(200, 'must be at most 200 characters')
      .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
  }),
  autoTopup: z.strictObject({
    enabled: z.boolean(),
    thresholdMinutes: z.int().min(1).max(100_000),
    packageId: idSchema,
    monthlyLimit: z.int().min(1).max(31),
  }),
  webhookDeliveries: z.strictObject({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    limit: pageLimit(500),
  }),
  /** A refund takes no body; `{}` is accepted, anything else is refused. */
  refund: z.strictObject({}),
  usagePage: z.strictObject({
    limit: pageLimit(100),
    cursor: z.string().max(200).optional(),
  }),
  usage: z.strictObject({
    callId: idSchema,
    seconds: z
      .int()
      .min(0)
      .max(7 * 86_400),
    occurredAt: isoInstant.optional(),
  }),
};

export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1–255 visible ASCII characters');

/** The request's `Idempotency-Key` header, or a 400 naming what it is needed for. */
export function idempotencyKey(c: Context, what: string): string {
  const key = idempotencyKeySchema.safeParse(c.req.header('idempotency-key'));
  if (!key.success) {
    throw new HttpError(
      'invalid_request',
      `Send an Idempotency-Key header (1–255 visible ASCII characters) with every ${what}.`,
    );
  }
  return key.data;
}
