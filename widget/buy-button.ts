import { html, nothing } from 'lit';
import type { TopupContext } from './context.js';

/**
 * **Buy more minutes** (part `buy-button`), alike in the card and the banner:
 * it opens the purchase dialog. With a view-only token (`scope` `view`) there
 * is none.
 *
 * @example
 * html`<div class="actions">${buyButton(this.ctx)}</div>`
 */
export function buyButton({ state, strings, store }: TopupContext) {
  return state.scope === 'buy'
    ? html`<button part="buy-button" class="primary" @click=${() => store.openDialog()}>
        ${strings.buyMore}
      </button>`
    : nothing;
}
