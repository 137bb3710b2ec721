import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import type { RecommendationDto } from '../contract/index.js';
import { TopupElement } from './element.js';
import { emit } from './events.js';
import { errorBox } from './error-box.js';
import { fill } from './fill.js';

const DAY = 86_400_000;

/**
 * The Extra Minutes card: this cycle's plan use, the extra balance, active
 * packages, overage, and upgrade advice when the API recommends it.
 *
 * @tagname minute-topup-card
 * @summary Plan meter, extra balance and the **Buy more minutes** / **View packages** buttons.
 * @event minute-topup-upgrade - Cancelable; the user follows the upgrade advice. Default: follow `upgrade-href`.
 * @csspart card - The card's box.
 * @csspart title - The heading.
 * @csspart meter - The plan-use meter; `meter-fill` is its filled part.
 * @csspart meter-fill - The used share of the plan.
 * @csspart extra - The extra balance figure.
 * @csspart buy-button - **Buy more minutes**.
 * @csspart view-button - **View packages**.
 * @csspart upgrade - The upgrade advice; `upgrade-link` is its link.
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
        gap: calc(var(--_s) * 0.5);
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
      .sk {
        height: 1.5em;
        border-radius: var(--_r);
        background: var(--_track);
        width: 60%;
      }
      .sk:nth-of-type(1) {
        width: 40%;
      }
      .sk:nth-of-type(2) {
        width: 100%;
      }
      .sk:nth-of-type(4) {
        width: 50%;
      }
      .sk:nth-of-type(5) {
        width: 70%;
      }
      .advice {
        background: var(--_info);
        color: var(--_on-info);
        border-radius: var(--_r);
        padding: calc(var(--_s) * 0.75);
      }
    `,
  ];

  render() {
    const c = this.ctx;
    if (!c) return nothing;
    const { state: s, t, f, store } = c;
    if (s.status === 'error' && s.error) {
      // An account that does not exist will not appear on a retry.
      const retry = s.error.code === 'account_not_found' ? undefined : () => store.load();
      return html`<section part="card" class="box">${errorBox(t, s.error, retry)}</section>`;
    }
    const b = s.balance;
    if (!b) {
      return html`<section part="card" class="box" aria-busy="true">
        <span class="sr-only">${t.loading}</span>
        <div class="sk"></div>
        <div class="sk"></div>
        <div class="sk"></div>
        <div class="sk"></div>
        <div class="sk"></div>
      </section>`;
    }
    const { allowanceSeconds: all, usedSeconds } = b.plan;
    const used = Math.min(Math.ceil(usedSeconds / 60), all / 60);
    const usedText = t.planUsed(f.number(used), f.minutes(all));
    const days = Math.max(0, Math.ceil((Date.parse(b.plan.cycleEnd) - Date.now()) / DAY));
    return html`<section part="card" class="box" aria-labelledby="title">
      <h2 id="title" part="title">${t.cardTitle}</h2>
      <div class="row"><span>${t.planMinutes}</span><span>${usedText}</span></div>
      <div
        part="meter"
        class="bar"
        role="meter"
        aria-label=${t.planMinutes}
        aria-valuemin="0"
        aria-valuemax=${all}
        aria-valuenow=${Math.min(usedSeconds, all)}
        aria-valuetext=${usedText}
      >
        <span part="meter-fill" ${fill(all ? Math.min(usedSeconds, all) / all : 1)}></span>
      </div>
      <p class="muted">${t.resetsIn(days)}</p>
      <p>
        ${t.extraBalance}:
        <span part="extra" class="big">${t.minutes(f.minutes(b.extra.remainingSeconds))}</span>
      </p>
      <p class="muted">${t.activePackages(b.extra.activePackages)}</p>
      ${
        b.overageSeconds > 0
          ? html`<p class="error">${t.overage(f.number(Math.ceil(b.overageSeconds / 60)))}</p>`
          : nothing
      }
      <div class="actions">
        <button part="buy-button" class="primary" @click=${() => store.openDialog()}>
          ${t.buyMore}
        </button>
        <button part="view-button" @click=${() => store.openHistory()}>${t.viewPackages}</button>
      </div>
      ${this.advice(s.recommendation)}
    </section>`;
  }

  private advice(r: RecommendationDto | null) {
    const c = this.ctx!;
    if (!r?.recommend || !r.nextPlan) return nothing;
    const { t, f, upgradeHref: href } = c;
    const text = t.upgradeAdvice({
      cycles: r.cyclesWithTopups,
      of: r.cyclesConsidered,
      spend: f.money(r.averageTopupSpendMinor),
      cost: f.money(r.averageMonthlyCostMinor),
      plan: r.nextPlan.name,
      price: f.money(r.nextPlan.priceMinor),
      saving: f.money(Math.max(0, r.monthlySavingMinor)),
    });
    const go = (e: Event) => {
      if (!emit(this, 'minute-topup-upgrade', { href, recommendation: r }, true))
        e.preventDefault();
    };
    const label = t.upgradeLink(r.nextPlan.name);
    return html`<div part="upgrade" class="advice">
      <p>${text}</p>
      ${
        href
          ? html`<a part="upgrade-link" class="button" href=${href} @click=${go}>${label}</a>`
          : html`<button part="upgrade-link" @click=${go}>${label}</button>`
      }
    </div>`;
  }
}
