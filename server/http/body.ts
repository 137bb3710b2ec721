import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpError } from './errors.js';

/**
 * Hono's `bodyLimit` in our error shape, and with a failed read put right: a
 * chunked body is read whole (up to `maxBytes`) before the route, and a client
 * that aborts mid-body, a connection reset while the body arrives, or a body
 * stream that errors is the client's doing — a 400 `invalid_request`, never a
 * 500 with a stack in the log. (When the socket is gone, nobody reads that
 * answer; that is fine.) A body with a declared length goes straight to the
 * route, whose JSON validator answers a short one with a 400. Larger than
 * `maxBytes`, declared or sent: a 413 `payload_too_large`, read no further.
 *
 * @example
 * app.use('/v1/*', readBody({ maxBytes: 16 * 1024 }));
 */
export function readBody(options: { maxBytes: number }): MiddlewareHandler {
  const tooLarge = () => {
    throw new HttpError('payload_too_large', 'The request body is too large.');
  };
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: tooLarge,
  });
  return async function readBodyWithinLimit(c, next) {
    // The hot path — a GET, or a body of declared length — never touches
    // `c.req.raw.body`: on @hono/node-server that getter turns the light
    // request into a full web Request with a ReadableStream and an
    // AbortSignal (a tenth of a usage call's CPU, profiled), and the route's
    // `c.req.json()` could no longer read the socket directly.
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const length = c.req.header('content-length');
    if (
      length !== undefined &&
      /^\d+$/.test(length) &&
      c.req.header('transfer-encoding') === undefined
    ) {
      return Number.parseInt(length, 10) > options.maxBytes ? tooLarge() : next();
    }
    let routed = false;
    try {
      return await limit(c, () => {
        routed = true;
        return next();
      });
    } catch (error) {
      // Errors of the route itself, and our own 413, go on as they are.
      if (routed || error instanceof HttpError) throw error;
      throw new HttpError(
        'invalid_request',
        'The request body could not be read to its end (the client aborted it?).',
      );
    }
  };
}
