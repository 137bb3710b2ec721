import { css, html, nothing } from 'lit';
import { base } from './styles.js';
import { ModalElement } from './element.js';
import { errorBox } from './error-box.js';
import { packageValues } from './pricing.js';
import { mayHaveCharged, needsBank } from './buying.js';

/**
 * The purchase dialog: a native modal `<dialog>` with the packages as a radio
 * group (arrow keys move, Space selects), the popular package pre-selected, a
 * tip, and a confirm button that names what it buys. A declined payment or a
 * network failure stays in the dialog with a retry that reuses the same
 * idempotency key, so it can never charge twice. After a failure without a
 * definite answer (network, 5xx) the package stays locked, across closing and
 * reopening, until a retry settles it. So does a payment that waits (202): for
 * the customer's bank (**Try again** once confirmed; while the host's
 * `authenticate` runs: *Confirming with your bank…*) or for the processor
 * (**Check again**). Each state is announced politely.
 *
 * @tagname minute-topup-dialog
 * @summary Choose a package and buy it.
 * @csspart dialog - The `<dialog>`.
 * @csspart title - The heading.
 * @csspart package - One package (a label around its radio).
 * @csspart badge - The *Popular*, *Best value* and saving badges.
 * @csspart tip - The advice under the packages.
 * @csspart error - A declined payment or failed request.
 * @csspart notice - A payment that waits for the bank or the processor, with its `retry-button`.
 * @csspart retry-button - Retry the same purchase (**Try again**, **Check again**).
 * @csspart cancel-button - Close without buying.
 * @csspart confirm-button - Buy the selected package.
 * @cssproperty --minute-topup-color-backdrop - The backdrop behind the dialog.
 * @cssproperty --minute-topup-color-info - Background of the badges and of the notice.
 * @cssproperty --minute-topup-color-on-info - Text of the badges and of the notice (default: the text colour).
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
        margin: 0 0 var(--_spacing);
        display: grid;
        gap: calc(var(--_spacing) * 0.5);
      }
      label {
        display: grid;
        grid-template-columns: auto 1fr auto;
        gap: 0 calc(var(--_spacing) * 0.75);
        align-items: center;
        padding: calc(var(--_spacing) * 0.75);
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
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
        margin-bottom: var(--_spacing);
      }
      .notice {
        background: var(--_info);
        color: var(--_on-info);
        border-radius: var(--_radius);
        padding: calc(var(--_spacing) * 0.5);
        margin-bottom: var(--_spacing);
      }
      .notice > p {
        margin: 0 0 calc(var(--_spacing) * 0.5);
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
    const context = this.ctx;
    if (!context) return nothing;
    const { state, strings, format, store } = context;
    const { buying, selectedId } = state;
    const packages = state.catalog?.packages ?? [];
    const values = packageValues(packages);
    const selected = packages.find((pkg) => pkg.id === selectedId);
    const pending = buying.kind === 'pending';
    const waiting = buying.kind === 'waiting' ? buying : undefined;
    const bankWaits = !!waiting && needsBank(waiting.action);
    const busy = pending && buying.bank ? strings.confirmingWithBank : strings.pending;
    // Announced politely: what a pending purchase does (the button says so
    // too) and why a waiting one is not done yet (with its way forward).
    const status = pending
      ? busy
      : waiting
        ? bankWaits
          ? strings.bankNeedsConfirmation
          : strings.paymentProcessing
        : '';
    // The purchase may have been charged: its package stays until a retry settles it.
    const locked = mayHaveCharged(buying);
    return html`<dialog part="dialog" aria-labelledby="title" @close=${this.onClose}>
      <h2 id="title" part="title">${strings.dialogTitle}</h2>
      <fieldset aria-busy=${pending} ?disabled=${locked}>
        <legend class="sr-only">${strings.packagesLabel}</legend>
        ${packages.map((pkg, i) => {
          const { bestValue, saving } = values[i];
          const minutes = strings.minutes(format.number(pkg.minutes));
          const perMinute = strings.perMinute(format.perMinute(pkg.priceMinor, pkg.minutes));
          return html`<label part="package">
            <input
              type="radio"
              name="package"
              value=${pkg.id}
              .checked=${pkg.id === selectedId}
              ?autofocus=${pkg.id === selectedId}
              @change=${() => store.select(pkg.id)}
            />
            <span><strong>${pkg.name}</strong> · ${minutes}</span>
            <span class="price">${format.money(pkg.priceMinor)}</span>
            <span class="muted">${perMinute}</span>
            <span class="badges">
              ${pkg.popular ? html`<span part="badge">${strings.popular}</span>` : nothing}
              ${bestValue ? html`<span part="badge">${strings.bestValue}</span>` : nothing}
              ${saving === null ? nothing : html`<span part="badge">${strings.saving(format.percent(saving))}</span>`}
            </span>
          </label>`;
        })}
      </fieldset>
      <p part="tip" class="muted">${strings.tip}</p>
      <div part=${waiting ? 'notice' : nothing} class=${waiting ? 'notice' : ''}>
        <p role="status" class=${waiting ? '' : 'sr-only'}>${status}</p>
        ${
          waiting
            ? html`<button part="retry-button" @click=${this.retry}>
                ${bankWaits ? strings.retry : strings.checkAgain}
              </button>`
            : nothing
        }
      </div>
      ${
        buying.kind === 'failed'
          ? errorBox(
              strings,
              buying.error,
              // Refused (a view-only token): trying again cannot help.
              buying.error.code === 'forbidden' ? undefined : this.retry,
              buying.unconfirmed ? strings.unconfirmed : '',
            )
          : nothing
      }
      <div class="actions">
        <button part="cancel-button" @click=${() => store.closeDialog()}>${strings.cancel}</button>
        <button
          part="confirm-button"
          class="primary"
          aria-disabled=${pending}
          @click=${() => store.confirm()}
        >
          ${
            pending
              ? busy
              : selected
                ? strings.confirm(
                    format.number(selected.minutes),
                    format.money(selected.priceMinor),
                  )
                : strings.dialogTitle
          }
        </button>
      </div>
    </dialog>`;
  }

  /**
   * Try again / Check again: the button goes while the purchase is pending;
   * when the dialog is still open after it (another failure, still waiting),
   * focus comes back to the way forward rather than being lost.
   */
  private retry = () =>
    this.afterAction(this.ctx?.store.confirm(), ['[part~=retry-button]', '[part~=confirm-button]']);
}
