import { css, html, nothing, type PropertyValues } from 'lit';
import { base } from './styles.js';
import type { RecommendationDto } from '../contract/index.js';
import { focusLost, TopupElement } from './element.js';
import { emit } from './events.js';
import { errorBox } from './error-box.js';
import { buyButton } from './buy-button.js';
import { fill } from './fill.js';
import { autoTopupRow } from './auto-topup-row.js';

const DAY = 86_400_000;

/**
 * The Extra Minutes card: this cycle's plan use, the extra balance, active
 * packages, overage, the auto top-up setting (changed in place with
 * **Change**), and upgrade advice when the API recommends it. With a
 * view-only token (`scope` `view`) it has no **Buy more minutes**, no
 * **Change** and no advice.
 *
 * @tagname minute-topup-card
 * @summary Plan meter, extra balance and the **Buy more minutes** / **View packages** buttons.
 * @event {CustomEvent<UpgradeEventDetail>} minute-topup-upgrade - Cancelable; the user follows the upgrade advice. Default: follow `upgrade-href`.
 * @csspart card - The card's box.
 * @csspart title - The heading.
 * @csspart meter - The plan-use meter; `meter-fill` is its filled part.
 * @csspart meter-fill - The used share of the plan.
 * @csspart extra - The extra balance figure.
 * @csspart buy-button - **Buy more minutes** (not with a view-only token).
 * @csspart view-button - **View packages**.
 * @csspart auto-topup - The auto top-up row: on, off or paused, and what it buys when.
 * @csspart auto-topup-button - **Change**: opens the auto top-up editor (not with a view-only token).
 * @csspart auto-topup-editor - The auto top-up editor (a form): switch, threshold, package, monthly limit.
 * @csspart save-button - Saves the auto top-up editor.
 * @csspart cancel-button - Closes the auto top-up editor without saving (so does Escape).
 * @csspart upgrade - The upgrade advice (not with a view-only token); `upgrade-link` is its link.
 * @csspart upgrade-link - The link (or button, without `upgrade-href`) to upgrade.
 * @csspart error - The load error message (`retry-button` retries), or a failed save of auto top-up: in the editor, or in the row once a token turned view-only closed it.
 * @csspart retry-button - Retry after a load error.
 * @cssproperty --minute-topup-card-min-height - Reserved height, kept while loading (default 20.5rem).
 * @cssproperty --minute-topup-color-info - Background of the upgrade advice.
 * @cssproperty --minute-topup-color-on-info - Text of the upgrade advice (default: the text colour).
 * @cssproperty --minute-topup-color-on-danger-background - Text of the error and overage boxes (default: the danger colour).
 */
export class MinuteTopupCard extends TopupElement {
  // The skeleton's widths come from the stylesheet: a strict CSP blocks style attributes.
  static styles = [
    base,
    css`
      .box {
        min-height: var(--minute-topup-card-min-height, 20.5rem);
        display: grid;
        gap: calc(var(--_spacing) * 0.5);
        align-content: start;
      }
      p,
      h2 {
        margin: 0;
      }
      .big {
        font-size: 1.5em;
        font-weight: 600;
      }
      .skeleton {
        height: 1.5em;
        border-radius: var(--_radius);
        background: var(--_track);
        width: 60%;
      }
      .skeleton:nth-of-type(1) {
        width: 40%;
      }
      .skeleton:nth-of-type(2) {
        width: 100%;
      }
      .skeleton:nth-of-type(4) {
        width: 50%;
      }
      .skeleton:nth-of-type(5) {
        width: 70%;
      }
      .auto {
        border-top: 1px solid var(--_border);
        padding-top: calc(var(--_spacing) * 0.5);
      }
      form {
        display: grid;
        gap: calc(var(--_spacing) * 0.25);
        justify-items: start;
      }
      input,
      select {
        font: inherit;
        color: inherit;
        background: var(--_surface);
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
        padding: 0.25em 0.5em;
        accent-color: var(--_accent);
      }
      .advice {
        background: var(--_info);
        color: var(--_on-info);
        border-radius: var(--_radius);
        padding: calc(var(--_spacing) * 0.75);
      }
    `,
  ];

  render() {
    const context = this.ctx;
    if (!context) return nothing;
    const { state, strings, format, store } = context;
    if (state.status === 'error' && state.error) {
      // An account that does not exist will not appear on a retry.
      const retry = state.error.code === 'account_not_found' ? undefined : () => store.load();
      return html`<section part="card" class="box">
        ${errorBox(strings, state.error, retry)}
      </section>`;
    }
    const balance = state.balance;
    if (!balance) {
      return html`<section part="card" class="box" aria-busy="true">
        <span class="sr-only">${strings.loading}</span>
        <div class="skeleton"></div>
        <div class="skeleton"></div>
        <div class="skeleton"></div>
        <div class="skeleton"></div>
        <div class="skeleton"></div>
      </section>`;
    }
    const { allowanceSeconds: allowance, usedSeconds } = balance.plan;
    const used = Math.min(Math.ceil(usedSeconds / 60), allowance / 60);
    const usedOfPlan = Math.min(usedSeconds, allowance);
    const extra = strings.minutes(format.minutes(balance.extra.remainingSeconds));
    // Whole minutes, rounded up: any overage shows.
    const overage = Math.ceil(balance.overageSeconds / 60);
    const usedText = strings.planUsed(format.number(used), format.minutes(allowance));
    const days = Math.max(0, Math.ceil((Date.parse(balance.plan.cycleEnd) - Date.now()) / DAY));
    // A view-only token: nothing that spends (buying, upgrade advice).
    const buy = state.scope === 'buy';
    return html`<section part="card" class="box" aria-labelledby="title">
      <h2 id="title" part="title">${strings.cardTitle}</h2>
      <div class="row"><span>${strings.planMinutes}</span><span>${usedText}</span></div>
      <div
        part="meter"
        class="bar"
        role="meter"
        aria-label=${strings.planMinutes}
        aria-valuemin="0"
        aria-valuemax=${allowance}
        aria-valuenow=${usedOfPlan}
        aria-valuetext=${usedText}
      >
        <span part="meter-fill" ${fill(allowance ? usedOfPlan / allowance : 1)}></span>
      </div>
      <p class="muted">${strings.resetsIn(days)}</p>
      <p>
        ${strings.labelled(strings.extraBalance)}
        <span part="extra" class="big">${extra}</span>
      </p>
      <p class="muted">${strings.activePackages(balance.extra.activePackages)}</p>
      ${overage > 0 ? html`<p class="error">${strings.overage(format.number(overage))}</p>` : nothing}
      ${autoTopupRow(context, this.saveAutoTopup)}
      <div class="actions">
        ${buyButton(context)}
        <button part="view-button" @click=${() => store.openHistory()}>
          ${strings.viewPackages}
        </button>
      </div>
      ${buy ? this.advice(state.recommendation) : nothing}
    </section>`;
  }

  /** Whether the auto top-up editor was open at the last render. */
  private editing = false;
  /** Whether focus was in the auto top-up row (on **Change**, in the editor) before this render. */
  private focusInRow = false;

  protected willUpdate(changed: PropertyValues) {
    super.willUpdate(changed);
    this.focusInRow = !!this.shadowRoot?.activeElement?.closest('[part~=auto-topup]');
  }

  /**
   * The editor opened: focus to its switch; closed: back to **Change** (or,
   * when the token turned view-only, to **View packages**) — only when focus
   * was in the row or fell to the page's body, never from where the user took
   * it meanwhile.
   */
  protected updated(changed: PropertyValues) {
    super.updated(changed);
    const editing = !!this.ctx?.state.autoTopup.editing;
    if (editing === this.editing) return;
    this.editing = editing;
    if (!this.focusInRow && !focusLost()) return;
    this.focusFirst(editing ? '#at-enabled' : '[part~=auto-topup-button],[part~=view-button]');
  }

  private focusFirst(selector: string) {
    this.renderRoot.querySelector<HTMLElement>(selector)?.focus();
  }

  /** Save: the fields as typed go to the store; an invalid one gets focus. */
  private saveAutoTopup = async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const field = (name: string) => String(data.get(name) ?? '');
    await this.ctx?.store.autoTopup.save({
      enabled: !!field('enabled'),
      threshold: field('threshold'),
      packageId: field('package'),
      limit: field('limit'),
    });
    await this.updateComplete;
    this.focusFirst('[aria-invalid=true]');
  };

  private advice(recommendation: RecommendationDto | null) {
    if (!recommendation?.recommend || !recommendation.nextPlan) return nothing;
    const { nextPlan } = recommendation;
    const { strings, format, upgradeHref: href } = this.ctx!;
    const text = strings.upgradeAdvice({
      cycles: recommendation.cyclesWithTopups,
      of: recommendation.cyclesConsidered,
      spend: format.money(recommendation.averageTopupSpendMinor),
      cost: format.money(recommendation.averageMonthlyCostMinor),
      plan: nextPlan.name,
      price: format.money(nextPlan.priceMinor),
      saving: format.money(Math.max(0, recommendation.monthlySavingMinor)),
    });
    const follow = (e: Event) => {
      if (!emit(this, 'minute-topup-upgrade', { href, recommendation }, true)) e.preventDefault();
    };
    const label = strings.upgradeLink(nextPlan.name);
    return html`<div part="upgrade" class="advice">
      <p>${text}</p>
      ${
        href
          ? html`<a part="upgrade-link" class="button" href=${href} @click=${follow}>${label}</a>`
          : html`<button part="upgrade-link" @click=${follow}>${label}</button>`
      }
    </div>`;
  }
}
