import { Hono } from 'hono';
import type { SessionDto } from '../contract.js';
import { secretOnly, type AuthEnv, type TokenIssuer } from '../http/auth.js';
import { jsonBody, schemas } from '../http/validation.js';
import type { Ledger } from '../ledger.js';

/** `POST /v1/sessions`: the host's backend mints a widget token for one account. */
export function sessionRoutes(ledger: Ledger, tokens: TokenIssuer, defaultTtlSeconds: number) {
  return new Hono<AuthEnv>().post('/', secretOnly, jsonBody(schemas.session), async (c) => {
    const { accountId, ttlSeconds } = c.req.valid('json');
    await ledger.getAccount(accountId);
    const { token, expiresAtMs } = await tokens.mint(accountId, ttlSeconds ?? defaultTtlSeconds);
    const body: SessionDto = { token, accountId, expiresAt: new Date(expiresAtMs).toISOString() };
    return c.json(body, 201);
  });
}
