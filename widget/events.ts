import type { PurchaseResultDto, RecommendationDto } from '../contract/index.js';
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
    /** The user follows the upgrade advice; cancel to handle it yourself. */
    'minute-topup-upgrade': CustomEvent<UpgradeEventDetail>;
  }
}
