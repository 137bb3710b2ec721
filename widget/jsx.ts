import type { MinuteTopup } from './minute-topup.js';

/**
 * What `<minute-topup>` takes in JSX beside the common HTML attributes: its
 * attributes, the properties a host sets (React 19 and Preact set a prop as a
 * property when the element has one), and its events as `on` + the event's
 * name (how React 19 and Preact listen to a custom element's events).
 */
export interface MinuteTopupJsxProps {
  'api-base'?: string;
  'account-id'?: string;
  token?: string;
  locale?: string;
  'upgrade-href'?: string;
  fetchToken?: MinuteTopup['fetchToken'];
  strings?: MinuteTopup['strings'];
  authenticate?: MinuteTopup['authenticate'];
  'onminute-topup-purchase'?: (event: HTMLElementEventMap['minute-topup-purchase']) => void;
  'onminute-topup-error'?: (event: HTMLElementEventMap['minute-topup-error']) => void;
  'onminute-topup-authenticate'?: (event: HTMLElementEventMap['minute-topup-authenticate']) => void;
  'onminute-topup-upgrade'?: (event: HTMLElementEventMap['minute-topup-upgrade']) => void;
}
