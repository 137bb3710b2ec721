import { createContext } from '@lit/context';
import type { Format } from './format.js';
import type { MinuteTopupStrings } from './i18n.js';
import type { Snapshot, TopupStore } from './store.js';

/**
 * What `<minute-topup>` provides to its parts. A new object on every change
 * (snapshot, strings, locale), because consumers are only told when the value
 * changes by `Object.is`.
 */
export interface TopupContext {
  state: Snapshot;
  store: TopupStore;
  /** Every visible string: English, with the host's `strings` over it. */
  strings: MinuteTopupStrings;
  /** Formatters for the locale and the catalog's currency. */
  format: Format;
  upgradeHref: string | undefined;
}

export const topupContext = createContext<TopupContext | undefined>(Symbol('minute-topup'));
