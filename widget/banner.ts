import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import { cardControl, focusLost, TopupElement } from './element.js';
import { pausedText } from './i18n.js';
import { buyButton } from './buy-button.js';
import { errorBox } from './error-box.js';

/**
 * The usage warning: shown while minutes run `low`, once the plan is
 * `exhausted` (extra minutes are drawn) and when everything is `empty`.
 * `low` and `exhausted` are polite status messages; `empty` is an alert.
 * It also shows a paused auto top-up, with its reason and two ways forward:
 * **Buy more minutes** (a purchase resumes it) and **Turn back on**; the
 * root's polite region announces the pause as it happens.
 * With a view-only token (`scope` `view`) it warns without a button, and
 * says the account owner can turn auto top-up back on.
 *
 * @tagname minute-topup-banner
 * @summary Usage warning and paused auto top-up, with a **Buy more minutes** button.
 * @csspart banner - The banner's box (classes `low`, `exhausted`, `empty`; `paused` with no warning).
 * @csspart message - The warning text.
 * @csspart paused - Auto top-up is paused, and why.
 * @csspart buy-button - **Buy more minutes** (not with a view-only token).
 * @csspart resume-button - **Turn back on**: resumes a paused auto top-up (not with a view-only token).
 * @csspart error - Turning auto top-up back on failed.
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
      .failure {
        flex-basis: 100%;
      }
      .low {
        background: var(--_info);
        color: var(--_on-info);
      }
      .exhausted,
      .paused {
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
    const warning = context?.state.balance?.warning ?? 'none';
    const { settings, editing, error } = context?.state.autoTopup ?? {};
    const paused = settings?.status === 'paused';
    if (!context || (warning === 'none' && !paused)) return nothing;
    const { strings, state } = context;
    const alert = warning === 'empty';
    const text = alert
      ? strings.bannerEmpty
      : warning === 'low'
        ? strings.bannerLow
        : strings.bannerExhausted;
    const buy = state.scope === 'buy';
    return html`<div part="banner" class="box row ${warning === 'none' ? 'paused' : warning}">
      <div>
        ${
          warning === 'none'
            ? nothing
            : html`<p
                part="message"
                role=${alert ? 'alert' : 'status'}
                aria-live=${alert ? 'assertive' : 'polite'}
              >
                ${text}
              </p>`
        }
        ${
          paused
            ? html`<p part="paused">
                ${pausedText(strings, settings.pausedReason)}
                ${buy ? nothing : strings.autoTopupOwner}
              </p>`
            : nothing
        }
      </div>
      <div class="actions">
        ${buyButton(context)}
        ${
          paused && buy
            ? html`<button part="resume-button" @click=${this.resume}>
                ${strings.turnBackOn}
              </button>`
            : nothing
        }
      </div>
      ${paused && error && !editing ? errorBox(strings, error) : nothing}
    </div>`;
  }

  /**
   * **Turn back on**: once resumed, the button goes (with the banner, when
   * nothing else is wrong): focus, fallen to the body, goes to the card's
   * **Change** (not from where the user took it meanwhile).
   */
  private resume = async () => {
    await this.ctx?.store.autoTopup.resume();
    await this.updateComplete;
    if (focusLost()) cardControl(this, '[part~=auto-topup-button]')?.focus();
  };
}
