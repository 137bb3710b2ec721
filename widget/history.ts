import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import { ModalElement } from './element.js';
import { errorBox } from './error-box.js';
import { fill } from './fill.js';
import { statusText } from './i18n.js';
import { splitText } from './calls.js';
import type { HistoryTab } from './store.js';
import type { PurchaseDto } from '../contract/index.js';

/**
 * The history in a native modal `<dialog>`, in two tabs. **Packages**: every
 * package bought and every grant, newest first, with its remaining minutes and
 * status (active, used, or a payment processing, awaiting the bank, failed or
 * refunded, with what was refunded), in a real `<table>`. **Recent calls**:
 * each call with how it was drawn ("4:12 = 2:00 plan + 2:12 Medium (bought
 * 3 Nov)"), newest first, a page at a time (**Show more**), read again on each
 * live change while shown. The total is the balance's: packages not paid or
 * refunded hold no minutes. The tabs follow the ARIA tabs pattern (arrow keys,
 * Home and End move between them).
 *
 * @tagname minute-topup-history
 * @summary The package history and recent calls, opened by **View packages**.
 * @csspart history - The `<dialog>`.
 * @csspart title - The heading.
 * @csspart tabs - The tab list (**Packages**, **Recent calls**).
 * @csspart tab - One tab; the selected one has `aria-selected="true"`.
 * @csspart calls - The list of recent calls.
 * @csspart call - One call: its date and time, and how it was drawn.
 * @csspart more-button - **Show more**: the next page of calls.
 * @csspart table-scroll - The table's scroll container: a focusable region, shaded at an edge with more beyond it.
 * @csspart table - The `<table>` of packages.
 * @csspart bar - The small bar of a package's remaining minutes.
 * @csspart empty - The text shown before any purchase, or before any call.
 * @csspart error - Why the packages or calls could not be loaded; `retry-button` loads them again.
 * @csspart retry-button - Load the packages or calls again.
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
      [role='tablist'] {
        display: flex;
        border-bottom: 1px solid var(--_border);
        margin-bottom: var(--_spacing);
      }
      [role='tab'] {
        border: 0;
        border-bottom: 3px solid transparent;
        border-radius: 0;
        color: inherit;
      }
      [aria-selected='true'] {
        border-color: var(--_accent);
        font-weight: 600;
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
      td,
      li {
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
      .note {
        display: block;
        white-space: normal;
        font-size: 0.875em;
        /* In a narrow table (the dialog on a phone scrolls it sideways) a
           note wraps at a readable width, not a word a line. */
        min-width: 12em;
      }
      ol {
        list-style: none;
        padding: 0;
        margin: 0 0 var(--_spacing);
      }
      li {
        white-space: normal;
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
    const tab = state.historyTab;
    const total = format.minutes(state.balance?.extra.remainingSeconds ?? 0);
    return html`<dialog part="history" aria-labelledby="title" @close=${this.onClose}>
      <h2 id="title" part="title">${strings.historyTitle}</h2>
      <div part="tabs" role="tablist" aria-labelledby="title" @keydown=${this.tabKeys}>
        ${this.tab('packages', strings.packagesTab)} ${this.tab('calls', strings.recentCalls)}
      </div>
      <div id="panel" role="tabpanel" aria-labelledby="tab-${tab}" tabindex="0">
        ${tab === 'calls' ? this.calls() : this.packages()}
      </div>
      <p part="total">${strings.totalRemaining(total)}</p>
      <div class="actions">
        <button part="close-button" @click=${() => store.closeHistory()}>${strings.close}</button>
      </div>
    </dialog>`;
  }

  /** One tab: only the selected one is in the tab order (arrow keys move between them). */
  private tab(name: HistoryTab, label: string) {
    const { state, store } = this.ctx!;
    const selected = state.historyTab === name;
    return html`<button
      part="tab"
      role="tab"
      id="tab-${name}"
      aria-selected=${selected}
      aria-controls=${selected ? 'panel' : nothing}
      tabindex=${selected ? 0 : -1}
      @click=${() => store.showHistoryTab(name)}
    >
      ${label}
    </button>`;
  }

  /** Arrow keys, Home and End select the other tab and focus it (two tabs: either way round). */
  private tabKeys = (e: KeyboardEvent) => {
    const tabs: HistoryTab[] = ['packages', 'calls'];
    const at = tabs.indexOf(this.ctx!.state.historyTab);
    const to = { ArrowLeft: at + 1, ArrowRight: at + 1, Home: 0, End: 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = tabs[to % 2];
    this.ctx!.store.showHistoryTab(next);
    this.renderRoot.querySelector<HTMLElement>(`#tab-${next}`)!.focus();
  };

  private packages() {
    const { state, strings } = this.ctx!;
    const list = state.purchases;
    return !list && state.purchasesError
      ? errorBox(strings, state.purchasesError, this.load)
      : !list
        ? html`<p aria-busy="true">${strings.loading}</p>`
        : !list.length
          ? html`<p part="empty">${strings.noPackages}</p>`
          : this.table(list);
  }

  /** The recent calls, a page at a time: loading, failed (Retry), none, or the list and Show more. */
  private calls() {
    const { state, strings, format } = this.ctx!;
    const { items, nextCursor, loadingMore, error } = state.calls;
    if (!items) {
      return error
        ? errorBox(strings, error, this.load)
        : html`<p aria-busy="true">${strings.loading}</p>`;
    }
    if (!items.length) return html`<p part="empty">${strings.noCalls}</p>`;
    return html`<ol part="calls">
        ${items.map(
          (call) =>
            html`<li part="call">
              <span class="note muted">${format.dateTime(call.occurredAt)}</span>
              ${splitText(strings, format, call)}
            </li>`,
        )}
      </ol>
      ${
        error
          ? errorBox(strings, error, this.load)
          : nextCursor
            ? html`<button part="more-button" aria-disabled=${loadingMore} @click=${this.load}>
                ${loadingMore ? strings.loading : strings.showMore}
              </button>`
            : nothing
      }`;
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
            const grant = purchase.kind === 'grant';
            const { refundMinor, refundedAt } = purchase;
            return html`<tr>
              <th scope="row">
                ${grant ? strings.granted : purchase.name}
                ${grant ? html`<span class="note muted">${purchase.reason}</span>` : nothing}
              </th>
              <td>${format.date(purchase.purchasedAt)}</td>
              <td>${grant ? strings.noCharge : format.money(purchase.priceMinor)}</td>
              <td>${format.number(purchase.minutes)}</td>
              <td>
                ${strings.minutes(format.minutes(purchase.remainingSeconds))}
                <span part="bar" class="bar" aria-hidden="true"><span ${fill(left)}></span></span>
              </td>
              <td>
                ${statusText(strings, purchase.status)}
                ${
                  purchase.status === 'refunded' && refundMinor !== undefined
                    ? html`<span class="note muted">
                        ${strings.refundDetail(
                          format.money(refundMinor),
                          format.minutes(purchase.refundedSeconds ?? 0),
                          refundedAt ? format.date(refundedAt) : '',
                        )}
                      </span>`
                    : nothing
                }
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  /**
   * Retry (packages, calls) and Show more keep their button until the answer;
   * when it is gone (loaded, the last page), focus goes on to the next way
   * forward in the dialog: Show more, Retry, or else the panel it loaded.
   */
  private load = () => {
    const { state, store } = this.ctx!;
    return this.afterAction(
      state.historyTab === 'packages'
        ? store.loadPurchases()
        : state.calls.items
          ? store.moreCalls()
          : store.loadCalls(),
      ['[part~=more-button]', '[part~=retry-button]', '#panel'],
    );
  };
}
