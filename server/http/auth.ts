import type { MiddlewareHandler } from 'hono';
import { sign, verify } from 'hono/jwt';
import type { TokenScope } from '../../contract/index.js';
import type { Clock } from '../clock.js';
import { HttpError } from './errors.js';

/** Who is calling: the host's backend (secret key) or a widget for one account. */
export type Caller =
  | { kind: 'secret' }
  /**
   * A widget token: its account, what it may do (`view` only reads), and
   * when it expires (a live stream ends then).
   */
  | { kind: 'widget'; accountId: string; scope: TokenScope; expiresAtMs: number };

export type AuthEnv = { Variables: { caller: Caller } };

const AUDIENCE = 'minute-topup-widget';

export interface TokenIssuer {
  mint(
    accountId: string,
    ttlSeconds: number,
    scope?: TokenScope,
  ): Promise<{ token: string; expiresAtMs: number }>;
  check(token: string): Promise<{ accountId: string; scope: TokenScope; expiresAtMs: number }>;
}

/**
 * Short-lived widget tokens: HS256 JWTs that carry the account (`sub`), the
 * audience, the scope and the expiry, and nothing else. The signing key is
 * derived from the secret key, so a token is never the key itself. A token
 * without a scope (minted before scopes existed) may buy, as it could then.
 */
export function tokenIssuer(secretKey: string, clock: Clock): TokenIssuer {
  const signingKey = `minute-topup-widget-token:${secretKey}`;
  return {
    async mint(accountId, ttlSeconds, scope = 'buy') {
      const iat = Math.floor(clock.now() / 1000);
      const exp = iat + ttlSeconds;
      const token = await sign(
        { sub: accountId, aud: AUDIENCE, scope, iat, exp },
        signingKey,
        'HS256',
      );
      return { token, expiresAtMs: exp * 1000 };
    },
    async check(token) {
      // Not even shaped as a token: most likely a secret key that is not ours.
      if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
        throw unauthorized('This is neither the secret key nor a widget token.');
      }
      let payload;
      try {
        // Expiry is checked below against our own clock, not the host's.
        payload = await verify(token, signingKey, {
          alg: 'HS256',
          aud: AUDIENCE,
          exp: false,
          nbf: false,
          iat: false,
        });
      } catch {
        throw unauthorized('The token is not valid.');
      }
      const scope = payload.scope ?? 'buy';
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.exp !== 'number' ||
        (scope !== 'buy' && scope !== 'view')
      ) {
        throw unauthorized('The token is not valid.');
      }
      if (payload.exp * 1000 <= clock.now()) throw unauthorized('The token has expired.');
      return { accountId: payload.sub, scope, expiresAtMs: payload.exp * 1000 };
    },
  };
}

function unauthorized(message: string): HttpError {
  return new HttpError('unauthorized', message, { 'WWW-Authenticate': 'Bearer' });
}

/** Compares in time independent of where the strings first differ. */
function sameSecret(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  }
  return diff === 0;
}

/** Reads `Authorization: Bearer …` as the secret key or a widget token; 401 otherwise. */
export function authenticate(secretKey: string, tokens: TokenIssuer): MiddlewareHandler<AuthEnv> {
  return async function authenticateCaller(c, next) {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([\x21-\x7e]{1,4096})$/i.exec(header);
    if (!match)
      throw unauthorized('Send a secret key or widget token as "Authorization: Bearer …".');
    const credential = match[1];
    const caller: Caller = sameSecret(credential, secretKey)
      ? { kind: 'secret' }
      : { kind: 'widget', ...(await tokens.check(credential)) };
    c.set('caller', caller);
    await next();
  };
}

/** Only the host's backend, with the secret key, may call this route. */
export const secretOnly: MiddlewareHandler<AuthEnv> = async function secretOnly(c, next) {
  if (c.get('caller').kind !== 'secret') {
    throw new HttpError('forbidden', 'This route needs the secret key, not a widget token.');
  }
  await next();
};

/**
 * The secret key, or a widget token for the account in the path (`:id`)
 * that may spend: a `view` token gets a 403.
 */
export const buyAccess: MiddlewareHandler<AuthEnv> = async function buyAccess(c, next) {
  const caller = c.get('caller');
  if (caller.kind === 'widget' && caller.scope !== 'buy') {
    throw new HttpError('forbidden', 'This token may only view the account.');
  }
  await next();
};

/** The secret key, or a widget token for the account in the path (`:id`). */
export const accountAccess: MiddlewareHandler<AuthEnv> = async function accountAccess(c, next) {
  const caller = c.get('caller');
  if (caller.kind === 'widget' && caller.accountId !== c.req.param('id')) {
    throw new HttpError('forbidden', 'This token is for another account.');
  }
  await next();
};
