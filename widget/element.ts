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

/**
 * A control of the card beside `from` (a part of the same `<minute-topup>`),
 * in the root's layout or the host's: the first of `selector` there.
 */
export function cardControl(from: Element, selector: string): HTMLElement | null | undefined {
  const root = from.closest('minute-topup') ?? (from.getRootNode() as ShadowRoot).host;
  const card =
    root?.shadowRoot?.querySelector('minute-topup-card') ??
    root?.querySelector('minute-topup-card');
  return card?.shadowRoot?.querySelector<HTMLElement>(selector);
}

/** Focus fell to the page's body (the focused element went away), or is nowhere. */
export const focusLost = () => !document.activeElement || document.activeElement === document.body;

/** The focused element, looking through shadow roots. */
function deepActive(): HTMLElement | null {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active as HTMLElement | null;
}

/** Resolves once the view that holds `node` (the host of its shadow root) has rendered. */
const rendered = (node: Node) =>
  ((node.getRootNode() as ShadowRoot).host as Partial<LitElement> | undefined)?.updateComplete;

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

  /**
   * Closed, the dialog keeps its last DOM rather than re-render on every
   * change (each live balance); it renders fresh when it opens. It renders
   * until it has a `<dialog>` (before the context arrives it has none), and
   * once more as it closes.
   */
  protected shouldUpdate(changed: PropertyValues) {
    return super.shouldUpdate(changed) && (this.open || !!this.dialog?.open || !this.dialog);
  }

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
    await rendered(opener);
    if (opener.isConnected) return;
    // Lost: on the body, on a host whose focused child went away, on a removed
    // element, or still in the closed dialog.
    const active = deepActive();
    if (!active || active.tabIndex < 0 || !active.isConnected || this.dialog?.contains(active))
      this.fallbackFocus()?.focus();
  }

  /**
   * After an action in the dialog (Retry, Show more) whose button goes while it
   * runs: once the root, then this view, re-rendered, and when the dialog is
   * still open without focus in it, focus goes to the first of `next` there is.
   */
  protected async afterAction(action: Promise<unknown> | undefined, next: readonly string[]) {
    await action;
    await rendered(this);
    await this.updateComplete;
    if (!this.dialog?.open || this.shadowRoot!.activeElement) return;
    next
      .map((q) => this.renderRoot.querySelector<HTMLElement>(q))
      .find(Boolean)
      ?.focus();
  }

  /** The card's **Buy more minutes** (or **View packages**), in the root's layout or the host's. */
  private fallbackFocus(): HTMLElement | null | undefined {
    // View-only, the card has no Buy more minutes: its View packages then.
    return cardControl(this, '[part~=buy-button],[part~=view-button]');
  }
}
