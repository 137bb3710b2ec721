import { html, nothing } from 'lit';
import type { TopupContext } from './context.js';
import type { AutoTopupField } from './auto-topup.js';
import type { AutoTopupDto } from '../contract/index.js';
import { errorBox } from './error-box.js';

/**
 * The card's **Auto top-up** row (part `auto-topup`): on, off or paused, what
 * it buys and when (or that its package is no longer offered), and **Change**
 * (part `auto-topup-button`; not with a view-only token), which reads the
 * setting again and opens the editor in its place (part `auto-topup-editor`)
 * on it: an on/off switch, the threshold, the package, the monthly limit,
 * **Save** (part `save-button`) and **Cancel**. Escape cancels. Nothing shows
 * until the setting was read.
 *
 * @example
 * html`${autoTopupRow(this.ctx, (form) => this.saveAutoTopup(form))}`
 */
export function autoTopupRow(context: TopupContext, submit: (form: HTMLFormElement) => unknown) {
  const { state, strings, format, store } = context;
  const { settings, editing, form, saving, invalid, error } = state.autoTopup;
  if (!settings) return nothing;
  const packages = state.catalog?.packages ?? [];
  const pkg = packages.find((p) => p.id === settings.packageId);
  const actions = store.autoTopup;
  const bad = (name: AutoTopupField) => invalid.includes(name);
  /** The message of a field a Save found invalid (the field's `aria-describedby`). */
  const message = (name: AutoTopupField, text: string) =>
    bad(name) ? html`<p id="at-${name}-error" class="error">${text}</p>` : nothing;
  /** A whole-number field. */
  const number = (name: AutoTopupField, label: string, value: number, max: number) =>
    html`<label for="at-${name}">${label}</label>
      <input
        id="at-${name}"
        name=${name}
        type="number"
        min="1"
        max=${max}
        step="1"
        .value=${String(value)}
        aria-invalid=${bad(name)}
        aria-describedby=${bad(name) ? `at-${name}-error` : nothing}
      />
      ${message(name, strings.autoTopupInvalid(format.number(1), format.number(max)))}`;
  const editor = (form: AutoTopupDto) => {
    // A package no longer offered is not chosen in its place: Save asks for one.
    const offered = packages.some((p) => p.id === form.packageId);
    return html`<form
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
          .checked=${form.enabled}
        />
        ${strings.autoTopupEnabled}
      </label>
      ${number('threshold', strings.autoTopupThreshold, form.thresholdMinutes, 100_000)}
      <label for="at-package">${strings.colPackage}</label>
      <select
        id="at-package"
        name="package"
        required
        aria-invalid=${bad('package')}
        aria-describedby=${bad('package') ? 'at-package-error' : nothing}
      >
        ${offered ? nothing : html`<option value="" selected>${strings.choosePackage}</option>`}
        ${packages.map(
          (p) =>
            html`<option value=${p.id} ?selected=${p.id === form.packageId}>
              ${strings.autoTopupPackage(p.name, format.number(p.minutes), format.money(p.priceMinor))}
            </option>`,
        )}
      </select>
      ${message('package', strings.choosePackage)}
      ${number('limit', strings.autoTopupLimit, form.monthlyLimit, 31)}
      ${error ? errorBox(strings, error) : nothing}
      <div class="actions">
        <button part="save-button" class="primary" aria-disabled=${saving}>${strings.save}</button>
        <button part="cancel-button" type="button" @click=${() => actions.cancel()}>
          ${strings.cancel}
        </button>
      </div>
    </form>`;
  };
  const on = settings.enabled;
  const paused = settings.status === 'paused';
  return html`<div part="auto-topup" class="auto">
    <div class="row">
      <span id="at-title">
        ${strings.labelled(strings.autoTopup)}
        <strong>${strings.autoTopupState(!on ? 'off' : paused ? 'paused' : 'on')}</strong>
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
            ${
              pkg
                ? strings.autoTopupRule(
                    pkg.name,
                    format.number(pkg.minutes),
                    format.number(settings.thresholdMinutes),
                    format.number(settings.monthlyLimit),
                    format.number(settings.cycleCount),
                  )
                : strings.autoTopupPackageGone(settings.packageId)
            }
          </p>`
        : nothing
    }
    ${editing && form ? editor(form) : nothing}
    ${
      // A save that settled after the token turned view-only: the editor is gone, the
      // refusal shows here (a paused one's shows in the banner).
      state.scope === 'view' && error && !paused ? errorBox(strings, error) : nothing
    }
  </div>`;
}
