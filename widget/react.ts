import * as React from 'react';
import { createComponent, type EventName } from '@lit/react';
import {
  MinuteTopup as MinuteTopupElement,
  MinuteTopupBanner as MinuteTopupBannerElement,
  MinuteTopupCard as MinuteTopupCardElement,
} from './index.js';
import type { MinuteTopupJsxAttributes } from './jsx.js';

/*
 * `minute-topup/react`: React components for the elements (made with
 * `@lit/react`, so React 18 too sets `fetchToken`, `authenticate` and
 * `strings` as properties and listens to the events), and the elements
 * themselves in React's JSX with their attributes only — React 18 would drop
 * properties and event props on a bare tag without a word.
 */

type Event<K extends keyof HTMLElementEventMap> = EventName<HTMLElementEventMap[K]>;

/**
 * `<minute-topup>`: `onPurchase`, `onError`, `onAuthenticate`,
 * `onAutoTopupChange` and `onUpgrade` receive its events.
 */
export const MinuteTopup = createComponent({
  tagName: 'minute-topup',
  elementClass: MinuteTopupElement,
  react: React,
  events: {
    onPurchase: 'minute-topup-purchase' as Event<'minute-topup-purchase'>,
    onError: 'minute-topup-error' as Event<'minute-topup-error'>,
    onAuthenticate: 'minute-topup-authenticate' as Event<'minute-topup-authenticate'>,
    onAutoTopupChange: 'minute-topup-auto-topup-change' as Event<'minute-topup-auto-topup-change'>,
    onUpgrade: 'minute-topup-upgrade' as Event<'minute-topup-upgrade'>,
  },
  displayName: 'MinuteTopup',
});

/** `<minute-topup-card>`, for a layout of your own inside `<MinuteTopup>`. */
export const MinuteTopupCard = createComponent({
  tagName: 'minute-topup-card',
  elementClass: MinuteTopupCardElement,
  react: React,
  displayName: 'MinuteTopupCard',
});

/** `<minute-topup-banner>`, for a layout of your own inside `<MinuteTopup>`. */
export const MinuteTopupBanner = createComponent({
  tagName: 'minute-topup-banner',
  elementClass: MinuteTopupBannerElement,
  react: React,
  displayName: 'MinuteTopupBanner',
});

export type { MinuteTopupJsxAttributes };

type Html<E extends HTMLElement> = React.DetailedHTMLProps<React.HTMLAttributes<E>, E>;

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'minute-topup': Html<MinuteTopupElement> & MinuteTopupJsxAttributes;
      'minute-topup-card': Html<MinuteTopupCardElement>;
      'minute-topup-banner': Html<MinuteTopupBannerElement>;
    }
  }
}
