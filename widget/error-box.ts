import { html, nothing } from 'lit';
import type { ErrorEventDetail } from './events.js';
import { errorText, type MinuteTopupStrings } from './i18n.js';

/**
 * A failure and the way forward, alike in every view: the translated message
 * as an alert (part `error`), an optional note under it, and **Try again**
 * (part `retry-button`) when there is something to retry.
 *
 * @example
 * html`${errorBox(strings, state.error, () => store.load())}`
 */
export function errorBox(
  strings: MinuteTopupStrings,
  error: ErrorEventDetail,
  retry?: () => unknown,
  note?: string,
) {
  return html`<div part="error" class="error failure" role="alert">
    <p>${errorText(strings, error.code)}</p>
    ${note ? html`<p>${note}</p>` : nothing}
    ${retry ? html`<button part="retry-button" @click=${retry}>${strings.retry}</button>` : nothing}
  </div>`;
}
