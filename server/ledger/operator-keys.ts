import type { PurchaseIntentRow } from '../store/types.js';

/**
 * An operator's grant or refund keeps its `Idempotency-Key` where purchases
 * keep theirs: as an intent of the account, so one key names one operation
 * whichever route it was sent to (a purchase's key used for a grant is a
 * 422, and the other way round). Its `packageId` says which operation it is:
 * these markers cannot be catalog ids (`#` is not allowed in one).
 */
export const GRANT_INTENT = '#grant';
export const REFUND_INTENT = '#refund';

/** Whether an intent records an operator's grant or refund rather than a purchase. */
export function isOperatorIntent(intent: Pick<PurchaseIntentRow, 'packageId'>): boolean {
  return intent.packageId === GRANT_INTENT || intent.packageId === REFUND_INTENT;
}
