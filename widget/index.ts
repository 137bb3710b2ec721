import { MinuteTopup } from './minute-topup.js';
import { MinuteTopupCard } from './card.js';
import { MinuteTopupBanner } from './banner.js';
import { MinuteTopupDialog } from './dialog.js';
import { MinuteTopupHistory } from './history.js';

export { MinuteTopup, MinuteTopupCard, MinuteTopupBanner, MinuteTopupDialog, MinuteTopupHistory };
export { TopupStore, type Snapshot } from './store.js';
export { createApiClient, ApiError, type ApiClient, type ClientErrorCode } from './api-client.js';
export { en, type MinuteTopupStrings } from './i18n.js';
export { createFormat } from './format.js';
export type {
  PurchaseEventDetail,
  ErrorEventDetail,
  AuthenticateEventDetail,
  UpgradeEventDetail,
  AutoTopupChangeEventDetail,
} from './events.js';
export type * from '../contract/index.js';

const elements = {
  'minute-topup': MinuteTopup,
  'minute-topup-card': MinuteTopupCard,
  'minute-topup-banner': MinuteTopupBanner,
  'minute-topup-dialog': MinuteTopupDialog,
  'minute-topup-history': MinuteTopupHistory,
};
for (const [name, ctor] of Object.entries(elements)) {
  if (!customElements.get(name)) customElements.define(name, ctor);
}

declare global {
  interface HTMLElementTagNameMap {
    'minute-topup': MinuteTopup;
    'minute-topup-card': MinuteTopupCard;
    'minute-topup-banner': MinuteTopupBanner;
    'minute-topup-dialog': MinuteTopupDialog;
    'minute-topup-history': MinuteTopupHistory;
  }
}
