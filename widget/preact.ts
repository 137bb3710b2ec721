import type { JSX } from 'preact';
import type { MinuteTopup, MinuteTopupBanner, MinuteTopupCard } from './index.js';
import type { MinuteTopupJsxProps } from './jsx.js';

/*
 * `minute-topup/preact`: registers the elements (as `minute-topup` does) and
 * types them in Preact's JSX, where props the element has are set as
 * properties and `onminute-topup-purchase` listens to its event.
 */

export * from './index.js';
export type { MinuteTopupJsxProps };

declare module 'preact' {
  namespace JSX {
    interface IntrinsicElements {
      'minute-topup': JSX.HTMLAttributes<MinuteTopup> & MinuteTopupJsxProps;
      'minute-topup-card': JSX.HTMLAttributes<MinuteTopupCard>;
      'minute-topup-banner': JSX.HTMLAttributes<MinuteTopupBanner>;
    }
  }
}
