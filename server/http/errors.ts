import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorBody, ErrorCode } from '../../contract/index.js';
import { DomainError } from '../domain/errors.js';

const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_signature: 400,
  unauthorized: 401,
  payment_declined: 402,
  payment_method_required: 402,
  forbidden: 403,
  account_not_found: 404,
  package_not_found: 404,
  plan_not_found: 404,
  purchase_not_found: 404,
  not_found: 404,
  conflict: 409,
  charge_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  occurred_before_account: 422,
  rate_limited: 429,
  internal_error: 500,
  payment_unavailable: 502,
  refund_failed: 502,
};

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Extra headers an error answer carries (e.g. `Retry-After`). */
export class HttpError extends DomainError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

/**
 * `app.onError`: every failure leaves as `{"error": {"code", "message"}}` with
 * the status its code stands for. Unexpected errors go to `log` and are
 * answered 500 without details.
 */
export function errorHandler(log: (err: Error) => void = defaultLog) {
  return function onError(err: Error, c: Context): Response {
    return errorResponse(err, c, log);
  };
}

function defaultLog(err: Error): void {
  console.error('minute-topup: unexpected error', err);
}

function errorResponse(err: Error, c: Context, log: (err: Error) => void): Response {
  if (err instanceof DomainError) {
    const headers = err instanceof HttpError ? err.headers : {};
    return c.json(errorBody(err.code, err.message), statusOf[err.code], headers);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const code: ErrorCode =
      status === 413
        ? 'payload_too_large'
        : status === 401
          ? 'unauthorized'
          : /json/i.test(err.message)
            ? 'invalid_json'
            : 'invalid_request';
    return c.json(errorBody(code, err.message || 'Bad request.'), statusOf[code]);
  }
  log(err);
  return c.json(errorBody('internal_error', 'Something went wrong on our side.'), 500);
}

export function notFound(c: Context): Response {
  return c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}.`), 404);
}
