import { css, html, nothing, type LitElement } from 'lit';
import { base } from './styles.js';
import { ModalElement } from './element.js';
import { errorBox } from './error-box.js';
import { fill } from './fill.js';
import { statusText } from './i18n.js';
import type { PurchaseDto } from '../contract/index.js';

/**
 * Every package bought, newest first, with its remaining minutes and status
 * (active, used, or a payment processing, awaiting the bank, failed or
 * refunded), in a native modal `<dialog>` holding a real `<table>`. The total
 * is the balance's: packages not paid or refunded hold no minutes.
 *
 * @tagname minute-topup-history
 * @summary The package history opened by **View packages**.
 * @csspart history - The `<dialog>`.
 * @csspart title - The heading.
 * @csspart table-scroll - The table's scroll container: a focusable region, shaded at an edge with more beyond it.
 * @csspart table - The `<table>` of packages.
 * @csspart bar - The small bar of a package's remaining minutes.
 * @csspart empty - The text shown before any purchase.
 * @csspart error - Why the packages could not be loaded; `retry-button` loads them again.
 * @csspart retry-button - Load the packages again.
 * @csspart total - The total remaining extra minutes.
 * @csspart close-button - Closes the history.
 * @cssproperty --minute-topup-color-on-danger-background - Text of the error box (default: the danger colour).
 */
export class MinuteTopupHistory extends ModalElement {
  // The table scrolls sideways on its own when narrow, and shows it: a shade at
  // each edge with more beyond it. The covers scroll with the content (local)
  // and hide a shade once its edge is reached.
  static styles = [
    base,
    css`
      dialog {
        width: min(48rem, calc(100vw - 2rem));
      }
      .scroll {
        overflow-x: auto;
        margin-bottom: var(--_spacing);
        --_shade: color-mix(in srgb, var(--_text) 35%, transparent);
        background:
          linear-gradient(to right, var(--_surface) 40%, transparent) left / 2.5em 100% no-repeat
            local,
          linear-gradient(to left, var(--_surface) 40%, transparent) right / 2.5em 100% no-repeat
            local,
          radial-gradient(farthest-side at 0 50%, var(--_shade), transparent) left / 1em 100%
            no-repeat scroll,
          radial-gradient(farthest-side at 100% 50%, var(--_shade), transparent) right / 1em 100%
            no-repeat scroll,
          var(--_surface);
      }
      table {
        width: 100%;
        border-collapse: collapse;
      }
      th,
      td {
        white-space: nowrap;
        text-align: start;
        padding: calc(var(--_spacing) * 0.4);
        border-bottom: 1px solid var(--_border);
        font-weight: normal;
      }
      thead th {
        font-weight: 600;
      }
      .bar {
        width: 4em;
      }
    `,
  ];

  protected get open() {
    return !!this.ctx?.state.historyOpen;
  }

  protected closed() {
    this.ctx?.store.closeHistory();
  }

  render() {
    const context = this.ctx;
    if (!context) return nothing;
    const { state, strings, format, store } = context;
    const list = state.purchases;
    const total = format.minutes(state.balance?.extra.remainingSeconds ?? 0);
    return html`<dialog part="history" aria-labelledby="title" @close=${this.onClose}>
      <h2 id="title" part="title">${strings.historyTitle}</h2>
      ${
        !list && state.purchasesError
          ? errorBox(strings, state.purchasesError, this.retry)
          : !list
            ? html`<p aria-busy="true">${strings.loading}</p>`
            : !list.length
              ? html`<p part="empty">${strings.noPackages}</p>`
              : this.table(list)
      }
      <p part="total">${strings.totalRemaining(total)}</p>
      <div class="actions">
        <button part="close-button" @click=${() => store.closeHistory()}>${strings.close}</button>
      </div>
    </dialog>`;
  }

  /** The packages bought, in a region that scrolls sideways when narrow. */
  private table(list: readonly PurchaseDto[]) {
    const { strings, format } = this.ctx!;
    const headings = [
      strings.colPackage,
      strings.colDate,
      strings.colPrice,
      strings.colMinutes,
      strings.colRemaining,
      strings.colStatus,
    ];
    return html`<div
      part="table-scroll"
      class="scroll"
      role="region"
      aria-labelledby="title"
      tabindex="0"
    >
      <table part="table">
        <caption class="sr-only">
          ${strings.historyTitle}
        </caption>
        <thead>
          <tr>
            ${headings.map((heading) => html`<th scope="col">${heading}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${list.map((purchase) => {
            const left = purchase.remainingSeconds / (purchase.totalSeconds || 1);
            return html`<tr>
              <th scope="row">${purchase.name}</th>
              <td>${format.date(purchase.purchasedAt)}</td>
              <td>${format.money(purchase.priceMinor)}</td>
              <td>${format.number(purchase.minutes)}</td>
              <td>
                ${strings.minutes(format.minutes(purchase.remainingSeconds))}
                <span part="bar" class="bar" aria-hidden="true"><span ${fill(left)}></span></span>
              </td>
              <td>${statusText(strings, purchase.status)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  /** Retry keeps its button until the answer; focus then stays in the dialog. */
  private retry = async () => {
    await this.ctx?.store.loadPurchases();
    // The root, then this view, re-render.
    await ((this.getRootNode() as ShadowRoot).host as Partial<LitElement>).updateComplete;
    await this.updateComplete;
    if (!this.shadowRoot!.activeElement)
      this.renderRoot.querySelector<HTMLElement>('[part=close-button]')?.focus();
  };
}
