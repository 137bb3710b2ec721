import { css, html, nothing, type LitElement } from 'lit';
import { base } from './styles.js';
import { ModalElement } from './element.js';
import { errorBox } from './error-box.js';
import { fill } from './fill.js';

/**
 * Every package bought, newest first, with its remaining minutes, in a native
 * modal `<dialog>` holding a real `<table>`.
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
        margin-bottom: var(--_s);
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
        padding: calc(var(--_s) * 0.4);
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
    const c = this.ctx;
    if (!c) return nothing;
    const { state: s, t, f, store } = c;
    const list = s.purchases;
    return html`<dialog part="history" aria-labelledby="title" @close=${this.onClose}>
      <h2 id="title" part="title">${t.historyTitle}</h2>
      ${
        !list && s.purchasesError
          ? errorBox(t, s.purchasesError, this.retry)
          : !list
            ? html`<p aria-busy="true">${t.loading}</p>`
            : !list.length
              ? html`<p part="empty">${t.noPackages}</p>`
              : html`<div
                  part="table-scroll"
                  class="scroll"
                  role="region"
                  aria-labelledby="title"
                  tabindex="0"
                >
                  <table part="table">
                    <caption class="sr-only">
                      ${t.historyTitle}
                    </caption>
                    <thead>
                      <tr>
                        ${[
                          t.colPackage,
                          t.colDate,
                          t.colPrice,
                          t.colMinutes,
                          t.colRemaining,
                          t.colStatus,
                        ].map((h) => html`<th scope="col">${h}</th>`)}
                      </tr>
                    </thead>
                    <tbody>
                      ${list.map(
                        (p) =>
                          html`<tr>
                            <th scope="row">${p.name}</th>
                            <td>${f.date(p.purchasedAt)}</td>
                            <td>${f.money(p.priceMinor)}</td>
                            <td>${f.number(p.minutes)}</td>
                            <td>
                              ${t.minutes(f.minutes(p.remainingSeconds))}
                              <span part="bar" class="bar" aria-hidden="true"
                                ><span ${fill(p.remainingSeconds / (p.totalSeconds || 1))}></span
                              ></span>
                            </td>
                            <td>${p.status === 'active' ? t.active : t.used}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`
      }
      <p part="total">${t.totalRemaining(f.minutes(s.balance?.extra.remainingSeconds ?? 0))}</p>
      <div class="actions">
        <button part="close-button" @click=${() => store.closeHistory()}>${t.close}</button>
      </div>
    </dialog>`;
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
