import type { MiddlewareHandler } from 'hono';
import { HttpError } from './errors.js';

/**
 * Reads each request body once, up to `maxBytes`, before any route sees it
 * (the routes then parse the buffered copy). It replaces Hono's `bodyLimit`,
 * which let a failed read escape as an unexpected error: a client that aborts
 * mid-body, a connection reset while the body arrives, or a body stream that
 * errors is the client's doing, so it is a 400 `invalid_request` in our
 * error shape — never a 500 with a stack in the log. (When the socket is
 * gone, nobody reads that answer; that is fine.) A body larger than
 * `maxBytes`, declared or sent, is a 413 `payload_too_large`, read no further.
 *
 * @example
 * app.use('/v1/*', readBody({ maxBytes: 16 * 1024 }));
 */
export function readBody(options: { maxBytes: number }): MiddlewareHandler {
  const { maxBytes } = options;
  return async function readBodyWithinLimit(c, next) {
    const stream = c.req.raw.body;
    if (!stream) return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      if (Number(declared) > maxBytes) throw tooLarge();
      // Node's HTTP parser holds a body to its declared length, and a short one
      // that breaks off already ends in a client error: leave it to the route,
      // without a second Request per call (the hot path of every usage call).
      if (/^\d+$/.test(declared)) return next();
    }
    // A chunked body: what arrives is counted, and a read that fails is the client's.
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch {
        throw new HttpError(
          'invalid_request',
          'The request body could not be read to its end (the client aborted it?).',
        );
      }
      if (step.done) break;
      size += step.value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(step.value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body });
    return next();
  };
}

function tooLarge(): HttpError {
  return new HttpError('payload_too_large', 'The request body is too large.');
}
