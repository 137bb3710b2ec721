import type { Context, Env, Input, MiddlewareHandler } from 'hono';
import type { Clock } from '../clock.js';
import { HttpError } from './errors.js';

/**
 * The limits `createApp` applies per account when its config asks for limits.
 * Reads: a widget reads a few times per change it shows, so 600 a minute is
 * far above what any page needs and far below what starves other accounts.
 */
export const DEFAULT_RATE_LIMITS = {
  sessionsPerMinute: 60,
  purchasesPerMinute: 30,
  readsPerMinute: 600,
} as const;

/** `0`, a negative number, `Infinity` or `NaN` switch a limit off. */
export function limitIsOn(limit: number | undefined): limit is number {
  return typeof limit === 'number' && Number.isFinite(limit) && limit > 0;
}

/** What a counter says about one more request: allowed, or when to try again. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Fixed-window counters in memory, one per key. A window opens at a key's
 * first request and admits `limit` requests until `windowMs` later, so no key
 * gets more than `limit` in one of its windows (and at most `2 × limit` in any
 * span of `windowMs` that straddles two of them). Memory is bounded: expired
 * windows are swept once per window, and past `maxKeys` live keys the oldest
 * window is dropped.
 *
 * @example
 * const counter = new FixedWindowCounter({ limit: 2, windowMs: 60_000 });
 * counter.hit('acme', 0); // { allowed: true }
 * counter.hit('acme', 1); // { allowed: true }
 * counter.hit('acme', 2); // { allowed: false, retryAfterMs: 59_998 }
 */
export class FixedWindowCounter {
  readonly limit: number;
  readonly windowMs: number;
  readonly maxKeys: number;
  /** Insertion order is window-start order: a key is re-inserted when its window opens. */
  private readonly windows = new Map<string, { startMs: number; count: number }>();
  private nextSweepMs = -Infinity;

  constructor(options: { limit: number; windowMs: number; maxKeys?: number }) {
    if (!limitIsOn(options.limit)) throw new RangeError('limit must be a positive finite number');
    if (!(options.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.limit = Math.floor(options.limit);
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Keys with a window open now (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  /** Counts one request for `key` at `nowMs`, unless the key's window is full. */
  hit(key: string, nowMs: number): RateDecision {
    this.sweep(nowMs);
    let window = this.windows.get(key);
    // A clock that moved back (or a window that ended) opens a new window.
    if (!window || nowMs >= window.startMs + this.windowMs || nowMs < window.startMs) {
      this.windows.delete(key);
      window = { startMs: nowMs, count: 0 };
      this.windows.set(key, window);
      this.evictOverflow();
    }
    if (window.count >= this.limit) {
      return { allowed: false, retryAfterMs: window.startMs + this.windowMs - nowMs };
    }
    window.count += 1;
    return { allowed: true };
  }

  private sweep(nowMs: number): void {
    if (nowMs < this.nextSweepMs) return;
    this.nextSweepMs = nowMs + this.windowMs;
    for (const [key, w] of this.windows) {
      if (nowMs >= w.startMs + this.windowMs) this.windows.delete(key);
    }
  }

  private evictOverflow(): void {
    for (const key of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys) return;
      this.windows.delete(key);
    }
  }
}

export interface RateLimitOptions<E extends Env, P extends string, I extends Input> {
  /** Requests a key may make per window; `0` or `Infinity`: no limit. */
  limit: number;
  windowMs?: number;
  clock: Clock;
  /**
   * The key a request counts against, or `undefined` for a request that is
   * not counted (one the route will refuse anyway, say).
   */
  keyOf: (c: Context<E, P, I>) => string | undefined;
  /** Most keys held at once. */
  maxKeys?: number;
  /** What the 429 says, e.g. "Too many purchases for this account." */
  message?: string;
}

/**
 * Answers `429 rate_limited` with `Retry-After` (whole seconds, at least 1)
 * once a key has used up its requests for the window; otherwise counts the
 * request and passes it on.
 *
 * @example
 * app.post('/v1/accounts/:id/purchases',
 *   rateLimit({ limit: 30, clock, keyOf: (c) => c.req.param('id') }));
 */
export function rateLimit<E extends Env = Env, P extends string = string, I extends Input = {}>(
  options: RateLimitOptions<E, P, I>,
): MiddlewareHandler<E, P, I> {
  if (!limitIsOn(options.limit)) {
    return async function noRateLimit(_c, next) {
      await next();
    };
  }
  const counter = new FixedWindowCounter({
    limit: options.limit,
    windowMs: options.windowMs ?? 60_000,
    maxKeys: options.maxKeys,
  });
  const message = options.message ?? 'Too many requests. Try again later.';
  return async function limitRate(c, next) {
    const key = options.keyOf(c);
    if (key !== undefined) {
      const decision = counter.hit(key, options.clock.now());
      if (!decision.allowed) {
        const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
        throw new HttpError('rate_limited', `${message} Retry in ${seconds} s.`, {
          'Retry-After': String(seconds),
        });
      }
    }
    await next();
  };
}
