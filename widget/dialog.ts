import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import { ModalElement } from './element.js';
import { errorBox } from './error-box.js';
import { packageValues } from './pricing.js';

/**
 * The purchase dialog: a native modal `<dialog>` with the packages as a radio
 * group (arrow keys move, Space selects), the popular package pre-selected, a
 * tip, and a confirm button that names what it buys. A declined payment or a
 * network failure stays in the dialog with a retry that reuses the same
 * idempotency key, so it can never charge twice. After a failure without a
 * definite answer (network, 5xx) the package stays locked, across closing and
 * reopening, until a retry settles it.
 *
 * @tagname minute-topup-dialog
 * @summary Choose a package and buy it.
 * @csspart dialog - The `<dialog>`.
 * @csspart title - The heading.
 * @csspart package - One package (a label around its radio).
 * @csspart badge - The *Popular*, *Best value* and saving badges.
 * @csspart tip - The advice under the packages.
 * @csspart error - A declined payment or failed request.
 * @csspart retry-button - Retry the same purchase.
 * @csspart cancel-button - Close without buying.
 * @csspart confirm-button - Buy the selected package.
 * @cssproperty --minute-topup-color-backdrop - The backdrop behind the dialog.
 * @cssproperty --minute-topup-color-info - Background of the badges.
 * @cssproperty --minute-topup-color-on-info - Text of the badges (default: the text colour).
 * @cssproperty --minute-topup-color-on-danger-background - Text of the error box (default: the danger colour).
 */
export class MinuteTopupDialog extends ModalElement {
  // Narrow (a phone): Cancel and Buy stack together, full width, rather than wrap apart.
  static styles = [
    base,
    css`
      fieldset {
        border: 0;
        padding: 0;
        margin: 0 0 var(--_s);
        display: grid;
        gap: calc(var(--_s) * 0.5);
      }
      label {
        display: grid;
        grid-template-columns: auto 1fr auto;
        gap: 0 calc(var(--_s) * 0.75);
        align-items: center;
        padding: calc(var(--_s) * 0.75);
        border: 1px solid var(--_border);
        border-radius: var(--_r);
        cursor: pointer;
      }
      label:has(:checked) {
        border-color: var(--_accent);
        box-shadow: 0 0 0 1px var(--_accent);
      }
      input {
        grid-row: span 2;
        accent-color: var(--_accent);
      }
      .price {
        font-weight: 600;
        text-align: end;
      }
      .badges {
        grid-column: 2 / 4;
      }
      [part='badge'] {
        display: inline-block;
        font-size: 0.8em;
        padding: 0 0.5em;
        margin-inline-end: 0.25em;
        border-radius: 1em;
        background: var(--_info);
        color: var(--_on-info);
      }
      dialog {
        container-type: inline-size;
      }
      [part='error'] {
        margin-bottom: var(--_s);
      }
      .actions {
        justify-content: flex-end;
      }
      @container (max-width: 28rem) {
        .actions {
          flex-direction: column;
          align-items: stretch;
        }
      }
    `,
  ];

  protected get open() {
    return !!this.ctx?.state.dialogOpen;
  }

  protected closed() {
    this.ctx?.store.closeDialog();
  }

  render() {
    const c = this.ctx;
    const packages = c?.state.catalog?.packages ?? [];
    if (!c) return nothing;
    const { state: s, t, f, store } = c;
    const values = packageValues(packages);
    const selected = packages.find((p) => p.id === s.selectedId);
    const { buying } = s;
    const pending = buying.kind === 'pending';
    return html`<dialog part="dialog" aria-labelledby="title" @close=${this.onClose}>
      <h2 id="title" part="title">${t.dialogTitle}</h2>
      <fieldset aria-busy=${pending} ?disabled=${buying.kind !== 'idle' && buying.unconfirmed}>
        <legend class="sr-only">${t.packagesLabel}</legend>
        ${packages.map((p, i) => {
          const { bestValue, saving } = values[i];
          return html`<label part="package">
            <input
              type="radio"
              name="package"
              value=${p.id}
              .checked=${p.id === s.selectedId}
              ?autofocus=${p.id === s.selectedId}
              @change=${() => store.select(p.id)}
            />
            <span><strong>${p.name}</strong> · ${t.minutes(f.number(p.minutes))}</span>
            <span class="price">${f.money(p.priceMinor)}</span>
            <span class="muted">${t.perMinute(f.perMinute(p.priceMinor, p.minutes))}</span>
            <span class="badges">
              ${p.popular ? html`<span part="badge">${t.popular}</span>` : nothing}
              ${bestValue ? html`<span part="badge">${t.bestValue}</span>` : nothing}
              ${saving !== null ? html`<span part="badge">${t.saving(f.percent(saving))}</span>` : nothing}
            </span>
          </label>`;
        })}
      </fieldset>
      <p part="tip" class="muted">${t.tip}</p>
      ${
        buying.kind === 'failed'
          ? errorBox(
              t,
              buying.error,
              () => store.confirm(),
              buying.unconfirmed ? t.unconfirmed : '',
            )
          : nothing
      }
      <div class="actions">
        <button part="cancel-button" @click=${() => store.closeDialog()}>${t.cancel}</button>
        <button
          part="confirm-button"
          class="primary"
          aria-disabled=${pending}
          @click=${() => store.confirm()}
        >
          ${
            pending
              ? t.pending
              : selected
                ? t.confirm(f.number(selected.minutes), f.money(selected.priceMinor))
                : t.dialogTitle
          }
        </button>
      </div>
    </dialog>`;
  }
}
