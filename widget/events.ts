import type {
  AutoTopupDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
} from '../contract/index.js';
import type { ClientErrorCode } from './api-client.js';

/** A package was bought: the API's answer as it is, the new purchase and the balance after it. */
export type PurchaseEventDetail = PurchaseResultDto;
/**
 * Something failed, as the widget reports it: the detail of `minute-topup-error`,
 * and the errors in the store's snapshot the views show.
 */
export interface ErrorEventDetail {
  code: ClientErrorCode;
  message: string;
}
/**
 * A payment waits for the customer's bank and `authenticate` is not set: run
 * the bank's check with `clientSecret` (Stripe.js `handleNextAction`); the
 * customer then completes the purchase with **Try again** in the dialog.
 */
export interface AuthenticateEventDetail {
  clientSecret: string;
  /** The purchase, not paid yet (status `requires_action`). */
  purchase: PurchaseDto;
}
/** The auto top-up setting was saved (or turned back on): the setting as the API now has it. */
export type AutoTopupChangeEventDetail = AutoTopupDto;
export interface UpgradeEventDetail {
  href: string | undefined;
  recommendation: RecommendationDto;
}

/** A bubbling, composed event; `cancelable` for requests the host may veto. */
export function emit<T>(
  from: EventTarget,
  type: keyof HTMLElementEventMap,
  detail: T,
  cancelable = false,
) {
  return from.dispatchEvent(
    new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable }),
  );
}

declare global {
  interface HTMLElementEventMap {
    /** A package was bought: the new purchase and the balance after it. */
    'minute-topup-purchase': CustomEvent<PurchaseEventDetail>;
    /** Loading or buying failed. */
    'minute-topup-error': CustomEvent<ErrorEventDetail>;
    /** A payment waits for the customer's bank (and `authenticate` is not set): run its check. */
    'minute-topup-authenticate': CustomEvent<AuthenticateEventDetail>;
    /** The auto top-up setting was saved (or turned back on): the setting now. */
    'minute-topup-auto-topup-change': CustomEvent<AutoTopupChangeEventDetail>;
    /** The user follows the upgrade advice; cancel to handle it yourself. */
    'minute-topup-upgrade': CustomEvent<UpgradeEventDetail>;
  }
}
