import type { MinuteTopup } from './minute-topup.js';

/** The attributes of `<minute-topup>`: safe in every JSX (React 18 and 19, Preact). */
export interface MinuteTopupJsxAttributes {
  'api-base'?: string;
  'account-id'?: string;
  token?: string;
  locale?: string;
  'upgrade-href'?: string;
  /** The live balance: on unless `"off"` (or `false`). */
  live?: boolean | 'on' | 'off';
}

/**
 * What `<minute-topup>` takes in Preact's JSX beside the common HTML
 * attributes: its attributes, the properties a host sets (Preact sets a prop
 * as a property when the element has one), and its events as `on` + the
 * event's name (how Preact listens to a custom element's events). React's JSX
 * gets the attributes only: React 18 would drop properties and such event
 * props without a word, so React hosts use the `minute-topup/react` components.
 */
export interface MinuteTopupJsxProps extends MinuteTopupJsxAttributes {
  fetchToken?: MinuteTopup['fetchToken'];
  strings?: MinuteTopup['strings'];
  authenticate?: MinuteTopup['authenticate'];
  'onminute-topup-purchase'?: (event: HTMLElementEventMap['minute-topup-purchase']) => void;
  'onminute-topup-error'?: (event: HTMLElementEventMap['minute-topup-error']) => void;
  'onminute-topup-authenticate'?: (event: HTMLElementEventMap['minute-topup-authenticate']) => void;
  'onminute-topup-auto-topup-change'?: (
    event: HTMLElementEventMap['minute-topup-auto-topup-change'],
  ) => void;
  'onminute-topup-upgrade'?: (event: HTMLElementEventMap['minute-topup-upgrade']) => void;
}
