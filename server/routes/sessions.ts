import { Hono } from 'hono';
import type { SessionDto } from '../../contract/index.js';
import { secretOnly, type AuthEnv, type TokenIssuer } from '../http/auth.js';
import { jsonBody, schemas } from '../http/validation.js';
import type { Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import { rateLimit } from '../http/rate-limit.js';
import type { z } from 'zod';

/** `POST /v1/sessions`: the host's backend mints a widget token for one account. */
export function sessionRoutes(
  ledger: Ledger,
  tokens: TokenIssuer,
  options: { ttlSeconds: number; perMinute: number; clock: Clock },
) {
  const defaultTtlSeconds = options.ttlSeconds;
  // Counted after the key and the body are checked, per requested account.
  const limit = rateLimit<AuthEnv, '/', { out: { json: z.output<typeof schemas.session> } }>({
    limit: options.perMinute,
    clock: options.clock,
    keyOf: (c) => c.req.valid('json').accountId,
    message: 'Too many widget tokens minted for this account.',
  });
  return new Hono<AuthEnv>().post('/', secretOnly, jsonBody(schemas.session), limit, async (c) => {
    const { accountId, ttlSeconds, scope = 'buy' } = c.req.valid('json');
    await ledger.getAccount(accountId);
    const { token, expiresAtMs } = await tokens.mint(
      accountId,
      ttlSeconds ?? defaultTtlSeconds,
      scope,
    );
    const body: SessionDto = {
      token,
      accountId,
      expiresAt: new Date(expiresAtMs).toISOString(),
      scope,
    };
    return c.json(body, 201);
  });
}
