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
  const limit = bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new HttpError('payload_too_large', 'The request body is too large.');
    },
  });
  return async function readBodyWithinLimit(c, next) {
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
