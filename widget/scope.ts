import type { TokenScope } from '../contract/index.js';

/**
 * What a widget token lets the widget offer: its JWT payload's `scope` claim,
 * read without verifying the signature (the API enforces the scope; this only
 * decides which controls to show). `view` hides everything that spends;
 * anything else — no claim, an unknown one, a token that is not a readable
 * JWT — counts as `buy`, the API's default.
 *
 * @example
 * tokenScope(session.token); // 'view' for a token minted with scope: 'view'
 */
export function tokenScope(token: string): TokenScope {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).scope === 'view' ? 'view' : 'buy';
  } catch {
    return 'buy';
  }
}
