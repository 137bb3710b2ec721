import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import type { RecommendationDto } from '../contract/index.js';
import { TopupElement } from './element.js';
import { emit } from './events.js';
import { errorBox } from './error-box.js';
import { buyButton } from './buy-button.js';
import { fill } from './fill.js';

const DAY = 86_400_000;

/**
 * The Extra Minutes card: this cycle's plan use, the extra balance, active
 * packages, overage, and upgrade advice when the API recommends it. With a
 * view-only token (`scope` `view`) it has no **Buy more minutes** and no advice.
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
 * @csspart upgrade - The upgrade advice (not with a view-only token); `upgrade-link` is its link.
 * @csspart upgrade-link - The link (or button, without `upgrade-href`) to upgrade.
 * @csspart error - The load error message; `retry-button` retries.
 * @csspart retry-button - Retry after a load error.
 * @cssproperty --minute-topup-card-min-height - Reserved height, kept while loading (default 17.5rem).
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
        min-height: var(--minute-topup-card-min-height, 17.5rem);
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
        ${strings.extraBalance}:
        <span part="extra" class="big">${extra}</span>
      </p>
      <p class="muted">${strings.activePackages(balance.extra.activePackages)}</p>
      ${overage > 0 ? html`<p class="error">${strings.overage(format.number(overage))}</p>` : nothing}
      <div class="actions">
        ${buyButton(context)}
        <button part="view-button" @click=${() => store.openHistory()}>
          ${strings.viewPackages}
        </button>
      </div>
      ${buy ? this.advice(state.recommendation) : nothing}
    </section>`;
  }

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
