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
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active as HTMLElement | null;
}

/**
 * A part shown in a native modal `<dialog>`, opened and closed by the store;
 * focus goes back to whatever opened it or, when that is gone (the banner's
 * button after a purchase ended the warning), to the card's **Buy more minutes**.
 */
export abstract class ModalElement extends TopupElement {
  @query('dialog') protected dialog?: HTMLDialogElement;
  private opener: HTMLElement | null = null;

  protected abstract get open(): boolean;
  /** Tells the store the dialog was closed (Escape, Cancel, success). */
  protected abstract closed(): void;

  protected updated(changed: PropertyValues) {
    super.updated(changed);
    const dialog = this.dialog;
    if (!dialog) return;
    if (this.open && !dialog.open) {
      this.opener = deepActive();
      dialog.showModal();
    } else if (!this.open && dialog.open) {
      dialog.close();
      void this.restoreFocus();
    }
  }

  /** The dialog closed by itself (Escape): tell the store. */
  protected onClose = () => {
    this.closed();
    void this.restoreFocus();
  };

  private async restoreFocus() {
    const opener = this.opener;
    this.opener = null;
    if (!opener) return;
    opener.focus();
    // The opener's view may still re-render from the change that closed the
    // dialog: a purchase removes the banner's button with the warning it ended.
    await ((opener.getRootNode() as ShadowRoot).host as Partial<LitElement> | undefined)
      ?.updateComplete;
    if (opener.isConnected) return;
    // Lost: on the body, on a host whose focused child went away, on a removed
    // element, or still in the closed dialog.
    const active = deepActive();
    if (!active || active.tabIndex < 0 || !active.isConnected || this.dialog?.contains(active))
      this.fallbackFocus()?.focus();
  }

  /** The card's **Buy more minutes** (or **View packages**), in the root's layout or the host's. */
  private fallbackFocus(): HTMLElement | null | undefined {
    const root = (this.getRootNode() as ShadowRoot).host;
    const card =
      root?.shadowRoot?.querySelector('minute-topup-card') ??
      root?.querySelector('minute-topup-card');
    // View-only, the card has no Buy more minutes: its View packages then.
    return card?.shadowRoot?.querySelector<HTMLElement>('[part~=buy-button],[part~=view-button]');
  }
}
