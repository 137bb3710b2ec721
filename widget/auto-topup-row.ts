import { html, nothing } from 'lit';
import type { TopupContext } from './context.js';
import type { AutoTopupField } from './auto-topup.js';
import { errorBox } from './error-box.js';

/**
 * The card's **Auto top-up** row (part `auto-topup`): on, off or paused, what
 * it buys and when, and **Change** (part `auto-topup-button`; not with a
 * view-only token), which opens the editor in its place (part
 * `auto-topup-editor`): an on/off switch, the threshold, the package, the
 * monthly limit, **Save** (part `save-button`) and **Cancel**. Escape cancels.
 * Nothing shows until the setting was read.
 *
 * @example
 * html`${autoTopupRow(this.ctx, (form) => this.saveAutoTopup(form))}`
 */
export function autoTopupRow(context: TopupContext, submit: (form: HTMLFormElement) => unknown) {
  const { state, strings, format, store } = context;
  const { settings, editing, saving, invalid, error } = state.autoTopup;
  if (!settings) return nothing;
  const packages = state.catalog?.packages ?? [];
  const pkg = packages.find((p) => p.id === settings.packageId);
  const actions = store.autoTopup;
  /** A whole-number field, with its message tied to it while invalid. */
  const number = (name: AutoTopupField, label: string, value: number, max: number) => {
    const bad = invalid.includes(name);
    return html`<label for="at-${name}">${label}</label>
      <input
        id="at-${name}"
        name=${name}
        type="number"
        min="1"
        max=${max}
        step="1"
        .value=${String(value)}
        aria-invalid=${bad}
        aria-describedby=${bad ? `at-${name}-error` : nothing}
      />
      ${
        bad
          ? html`<p id="at-${name}-error" class="error">
              ${strings.autoTopupInvalid(format.number(1), format.number(max))}
            </p>`
          : nothing
      }`;
  };
  const editor = html`<form
    part="auto-topup-editor"
    aria-labelledby="at-title"
    novalidate
    @submit=${(e: SubmitEvent) => {
      e.preventDefault();
      submit(e.target as HTMLFormElement);
    }}
    @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && actions.cancel()}
  >
    <label class="switch">
      <input
        id="at-enabled"
        type="checkbox"
        role="switch"
        name="enabled"
        .checked=${settings.enabled}
      />
      ${strings.autoTopupEnabled}
    </label>
    ${number('threshold', strings.autoTopupThreshold, settings.thresholdMinutes, 100_000)}
    <label for="at-package">${strings.colPackage}</label>
    <select id="at-package" name="package">
      ${packages.map(
        (p) =>
          html`<option value=${p.id} ?selected=${p.id === settings.packageId}>
            ${p.name} · ${strings.minutes(format.number(p.minutes))} · ${format.money(p.priceMinor)}
          </option>`,
      )}
    </select>
    ${number('limit', strings.autoTopupLimit, settings.monthlyLimit, 31)}
    ${error ? errorBox(strings, error) : nothing}
    <div class="actions">
      <button part="save-button" class="primary" aria-disabled=${saving}>${strings.save}</button>
      <button part="cancel-button" type="button" @click=${() => actions.cancel()}>
        ${strings.cancel}
      </button>
    </div>
  </form>`;
  const on = settings.enabled;
  return html`<div part="auto-topup" class="auto">
    <div class="row">
      <span id="at-title">
        ${strings.autoTopup}:
        <strong
          >${strings.autoTopupState(!on ? 'off' : settings.status === 'paused' ? 'paused' : 'on')}</strong
        >
      </span>
      ${
        state.scope === 'buy' && !editing
          ? html`<button
              part="auto-topup-button"
              aria-describedby="at-title"
              @click=${() => actions.edit()}
            >
              ${strings.change}
            </button>`
          : nothing
      }
    </div>
    ${
      on && !editing
        ? html`<p class="muted">
            ${strings.autoTopupRule(
              pkg?.name ?? settings.packageId,
              format.number(pkg?.minutes ?? 0),
              format.number(settings.thresholdMinutes),
              format.number(settings.monthlyLimit),
              format.number(settings.cycleCount),
            )}
          </p>`
        : nothing
    }
    ${editing ? editor : nothing}
  </div>`;
}
