import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import { TopupElement } from './element.js';
import { buyButton } from './buy-button.js';

/**
 * The usage warning: shown while minutes run `low`, once the plan is
 * `exhausted` (extra minutes are drawn) and when everything is `empty`.
 * `low` and `exhausted` are polite status messages; `empty` is an alert.
 * With a view-only token (`scope` `view`) it warns without a button.
 *
 * @tagname minute-topup-banner
 * @summary Usage warning with a **Buy more minutes** button.
 * @csspart banner - The banner's box (classes `low`, `exhausted`, `empty`).
 * @csspart message - The warning text.
 * @csspart buy-button - **Buy more minutes** (not with a view-only token).
 * @cssproperty --minute-topup-color-info - Background of the `low` banner (and upgrade advice).
 * @cssproperty --minute-topup-color-on-info - Text of the `low` banner (default: the text colour).
 * @cssproperty --minute-topup-color-warning - Background of the `exhausted` banner.
 * @cssproperty --minute-topup-color-on-warning - Text of the `exhausted` banner (default: the text colour).
 * @cssproperty --minute-topup-color-danger-background - Background of the `empty` banner.
 * @cssproperty --minute-topup-color-on-danger-background - Text of the `empty` banner (default: the text colour).
 */
export class MinuteTopupBanner extends TopupElement {
  static styles = [
    base,
    css`
      .box {
        justify-content: space-between;
        margin-bottom: var(--_spacing);
      }
      p {
        margin: 0;
      }
      .low {
        background: var(--_info);
        color: var(--_on-info);
      }
      .exhausted {
        background: var(--_warning);
        color: var(--_on-warning);
      }
      .empty {
        background: var(--_danger-bg);
        border-color: var(--_danger);
        color: var(--minute-topup-color-on-danger-background, var(--_text));
      }
    `,
  ];

  render() {
    const context = this.ctx;
    // The last known balance, whatever the status: a reload must not remove it
    // (layout shift, lost focus, the `empty` alert announced again).
    const warning = context?.state.balance?.warning;
    if (!context || !warning || warning === 'none') return nothing;
    const { strings } = context;
    const alert = warning === 'empty';
    const text = alert
      ? strings.bannerEmpty
      : warning === 'low'
        ? strings.bannerLow
        : strings.bannerExhausted;
    return html`<div part="banner" class="box row ${warning}">
      <p
        part="message"
        role=${alert ? 'alert' : 'status'}
        aria-live=${alert ? 'assertive' : 'polite'}
      >
        ${text}
      </p>
      ${buyButton(context)}
    </div>`;
  }
}
