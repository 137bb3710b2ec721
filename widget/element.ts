import { LitElement, type CSSResultGroup, type PropertyValues } from 'lit';
import { consume } from '@lit/context';
import { query, state } from 'lit/decorators.js';
import { topupContext, type TopupContext } from './context.js';
import { base } from './styles.js';

/** A part of the widget: renders the context `<minute-topup>` provides. */
export class TopupElement extends LitElement {
  static styles: CSSResultGroup = base;

  @consume({ context: topupContext, subscribe: true })
  @state()
  protected ctx?: TopupContext;
}

/** The focused element, looking through shadow roots. */
function deepActive(): HTMLElement | null {
  let a = document.activeElement;
  while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
  return a as HTMLElement | null;
}

/**
 * A part shown in a native modal `<dialog>`, opened and closed by the store;
 * focus goes back to whatever opened it.
 */
export abstract class ModalElement extends TopupElement {
  @query('dialog') protected dialog?: HTMLDialogElement;
  private opener: HTMLElement | null = null;

  protected abstract get open(): boolean;
  /** Tells the store the dialog was closed (Escape, Cancel, success). */
  protected abstract closed(): void;

  protected updated(changed: PropertyValues) {
    super.updated(changed);
    const d = this.dialog;
    if (!d) return;
    if (this.open && !d.open) {
      this.opener = deepActive();
      d.showModal();
    } else if (!this.open && d.open) d.close();
  }

  protected onClose = () => {
    this.closed();
    this.opener?.focus();
    this.opener = null;
  };
}
