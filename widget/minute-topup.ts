import { html, LitElement, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { provide } from '@lit/context';
import { createApiClient, type ApiClient } from './api-client.js';
import { topupContext, type TopupContext } from './context.js';
import { emit } from './events.js';
import { createFormat, type Format } from './format.js';
import { en, pausedText, type MinuteTopupStrings } from './i18n.js';
import { LiveBalance } from './live.js';
import { TopupStore, type Snapshot } from './store.js';
import type { AutoTopupState } from './auto-topup.js';
import type { TokenScope } from '../contract/index.js';
import { base, PARTS } from './styles.js';

/**
 * `live` off: `false`, or `"off"` / `"false"` as an attribute or as a
 * property (JSX sets the attribute's string as the property).
 */
const liveOn = (value: unknown) =>
  value !== false && !/^(off|false)$/i.test(String(value ?? '').trim());

/**
 * The root of the widget: owns the store, fetches catalog, balance, packages
 * and advice in one parallel round, and provides the state to its parts.
 * Once loaded it follows the balance live (`GET …/events`) while the page is
 * shown, unless `live="off"`.
 * Without children it lays out the banner above the card; with children it
 * renders them in its slot instead, so a host can place `<minute-topup-banner>`
 * and `<minute-topup-card>` apart. The purchase dialog and the history are
 * always its own.
 *
 * @tagname minute-topup
 * @summary Buy extra voice minutes: card, usage banner, purchase dialog and history.
 * @slot - Optional own layout of `<minute-topup-banner>` and `<minute-topup-card>` (replaces the default one).
 * @event {CustomEvent<PurchaseEventDetail>} minute-topup-purchase - A package was bought. `detail: {purchase, balance}`.
 * @event {CustomEvent<ErrorEventDetail>} minute-topup-error - Loading or buying failed. `detail: {code, message}`; `code` `no_token` when `fetchToken` gave no token.
 * @event {CustomEvent<AuthenticateEventDetail>} minute-topup-authenticate - A payment waits for the customer's bank and `authenticate` is not set: run its check (Stripe.js `handleNextAction`) with `detail.clientSecret`; the customer completes the purchase with **Try again**. `detail: {clientSecret, purchase}`.
 * @event {CustomEvent<AutoTopupChangeEventDetail>} minute-topup-auto-topup-change - The auto top-up setting was saved in the card's editor, or turned back on from the banner. `detail`: the setting as the API now has it (`{enabled, thresholdMinutes, packageId, monthlyLimit, status, cycleCount}`).
 * @event {CustomEvent<UpgradeEventDetail>} minute-topup-upgrade - Cancelable; from the card's upgrade link. `detail: {href, recommendation}`.
 * @csspart banner - (default layout) The banner's box, exported from `<minute-topup-banner>` like every part of the parts below.
 * @csspart card - (default layout) The card's box, exported from `<minute-topup-card>`.
 * @csspart dialog - The purchase dialog.
 * @csspart history - The history dialog (its parts, such as `table-scroll` and `table`, are exported too).
 * @cssproperty --minute-topup-font-family - Font of every part (default: inherited).
 * @cssproperty --minute-topup-font-size - Base font size (default 1rem).
 * @cssproperty --minute-topup-color-text - Text colour.
 * @cssproperty --minute-topup-color-muted - Secondary text colour.
 * @cssproperty --minute-topup-color-surface - Background of card, dialogs and buttons.
 * @cssproperty --minute-topup-color-border - Borders.
 * @cssproperty --minute-topup-color-accent - Primary buttons, meter, focus ring, selection.
 * @cssproperty --minute-topup-color-on-accent - Text on the accent colour.
 * @cssproperty --minute-topup-color-track - Empty part of meters and bars; skeletons.
 * @cssproperty --minute-topup-color-info - Badges, upgrade advice, `low` banner.
 * @cssproperty --minute-topup-color-on-info - Text on the info colour: badges, upgrade advice, `low` banner (default: the text colour).
 * @cssproperty --minute-topup-color-warning - `exhausted` banner.
 * @cssproperty --minute-topup-color-on-warning - Text on the warning colour: the `exhausted` banner (default: the text colour).
 * @cssproperty --minute-topup-color-danger - Error text and the `empty` banner's border.
 * @cssproperty --minute-topup-color-danger-background - Error and `empty` banner background.
 * @cssproperty --minute-topup-color-on-danger-background - Text on the danger background: error boxes (default: the danger colour) and the `empty` banner (default: the text colour).
 * @cssproperty --minute-topup-color-backdrop - Behind the dialogs.
 * @cssproperty --minute-topup-radius - Corner radius (default 8px).
 * @cssproperty --minute-topup-spacing - Spacing unit (default 1rem).
 * @cssproperty --minute-topup-card-min-height - Height reserved by the card while loading.
 */
export class MinuteTopup extends LitElement {
  static styles = base;

  /** Base URL of the API (without `/v1`); empty for the page's own origin. */
  @property({ attribute: 'api-base' }) apiBase = '';
  @property({ attribute: 'account-id' }) accountId = '';
  /** A widget token; when it expires, `fetchToken` is asked for a new one. */
  @property() token?: string;
  /** BCP 47 locale for numbers, prices and dates (default: the browser's). */
  @property() locale?: string;
  /** Where the upgrade advice links to. */
  @property({ attribute: 'upgrade-href' }) upgradeHref?: string;
  /**
   * Returns a fresh token; called when there is none and once again after a
   * 401. Until `token` or `fetchToken` is set, the widget sends no request.
   */
  @property({ attribute: false }) fetchToken?: () => Promise<string>;
  /**
   * Lets the customer authenticate a payment their bank holds (run Stripe.js
   * `handleNextAction({clientSecret})` here): resolve once done, reject when
   * it failed or was abandoned. The widget then asks for the purchase again
   * under the same idempotency key. Without it, the widget fires
   * `minute-topup-authenticate` and offers **Try again**.
   *
   * @example
   * el.authenticate = async (clientSecret) => {
   *   const { error } = await stripe.handleNextAction({ clientSecret });
   *   if (error) throw error;
   * };
   */
  @property({ attribute: false }) authenticate?: (clientSecret: string) => Promise<void>;
  /**
   * Follows the balance as it changes (calls, purchases elsewhere), through
   * the API's event stream, while the page is shown. On by default;
   * `live="off"` (or `"false"`) turns it off.
   */
  @property({ converter: liveOn }) live = true;
  /** Replaces any of the visible strings. */
  @property({ attribute: false }) strings?: Partial<MinuteTopupStrings>;

  /**
   * What the token in use lets the widget offer, read from its `scope` claim
   * (a token minted with `scope: "view"`): `view` shows the balance, the
   * history and the recent calls, and nothing that spends — no **Buy more
   * minutes**, no purchase dialog, no upgrade advice. `buy` otherwise (also
   * for a token whose claims cannot be read: the API decides). Follows each
   * new token (`token`, or one from `fetchToken`).
   */
  get scope(): TokenScope {
    return this.snapshot?.scope ?? 'buy';
  }

  @provide({ context: topupContext })
  @state()
  private ctx?: TopupContext;
  @state() private snapshot?: Snapshot;

  private store?: TopupStore;
  private api?: ApiClient;
  private liveBalance?: LiveBalance;
  private unsubscribe?: () => void;
  /** Formatters for the last locale and currency, made again only when either changes. */
  private cachedFormat?: [key: string, format: Format];
  private observer = new MutationObserver(() => this.requestUpdate());

  connectedCallback() {
    super.connectedCallback();
    this.observer.observe(this, { childList: true });
    document.addEventListener('visibilitychange', this.followLive);
    this.followLive();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.observer.disconnect();
    document.removeEventListener('visibilitychange', this.followLive);
    this.followLive();
  }

  /**
   * Opens the live stream or closes it: open while `live`, in the document,
   * the page shown, and a balance loaded (whose version the stream goes on
   * from). A hidden page holds no stream; shown again, it catches up.
   */
  private followLive = () => {
    const live = this.liveBalance;
    if (liveOn(this.live) && this.isConnected && !document.hidden && this.store?.snapshot.balance)
      live?.start();
    else live?.stop();
  };

  /** Fetch everything again (after the host fixed what went wrong). */
  async reload(): Promise<void> {
    await this.updateComplete;
    await this.load();
  }

  /**
   * Loads once there is a token or a `fetchToken`: a host may set either a
   * moment after `account-id`, and requests without one would only get 401s.
   */
  private load() {
    return this.token || this.fetchToken ? this.store?.load() : undefined;
  }

  protected willUpdate(changed: PropertyValues<this>) {
    if ((changed.has('apiBase') || changed.has('accountId')) && this.accountId) {
      this.connect();
    } else if ((changed.has('token') || changed.has('fetchToken')) && this.api) {
      const status = this.store?.snapshot.status;
      // Any new token, the first one too: the client may have cached a refused one.
      // Not loaded yet, or a load failed (401) or is failing: load with a fresh one.
      if (changed.has('token') || status !== 'ready') this.api.resetToken();
      // Its scope shows at once, before the next request sends it.
      if (changed.has('token') && this.token) this.store?.useToken(this.token);
      if (status !== 'ready') void this.load();
      // A new stream with the new token (or a new try with the new source).
      this.liveBalance?.stop();
      this.followLive();
    }
    if (changed.has('live')) this.followLive();
    const snapshot = this.snapshot;
    if (!this.store || !snapshot) return;
    const currency = snapshot.catalog?.currency ?? 'USD';
    const key = `${this.locale}|${currency}`;
    if (this.cachedFormat?.[0] !== key)
      this.cachedFormat = [key, createFormat(this.locale, currency)];
    this.ctx = {
      state: snapshot,
      store: this.store,
      strings: { ...en, ...this.strings },
      format: this.cachedFormat[1],
      upgradeHref: this.upgradeHref,
    };
  }

  private connect() {
    this.unsubscribe?.();
    this.liveBalance?.stop();
    const host = this;
    this.api = createApiClient({
      base: this.apiBase,
      accountId: this.accountId,
      token: () => host.token,
      get fetchToken() {
        return host.fetchToken;
      },
      onToken: (token) => host.store?.useToken(token),
    });
    this.store = new TopupStore(this.api, {
      purchase: (detail) => emit(this, 'minute-topup-purchase', detail),
      autoTopupChange: (detail) => emit(this, 'minute-topup-auto-topup-change', detail),
      error: (detail) => emit(this, 'minute-topup-error', detail),
      authenticationRequired: (detail) => emit(this, 'minute-topup-authenticate', detail),
      get authenticate() {
        return host.authenticate;
      },
    });
    const store = this.store;
    this.liveBalance = new LiveBalance({
      open: this.api.events,
      version: () => store.snapshot.balance?.version,
      balance: (balance) => store.liveBalance(balance),
    });
    // The stream starts once there is a balance (it sends the version shown);
    // after that the balance stays, and only the token, `live`, the page's
    // visibility or the element's connection decide (each calls followLive).
    let balanceShown = false;
    this.unsubscribe = store.subscribe((snapshot) => {
      this.snapshot = snapshot;
      if (balanceShown || !snapshot.balance) return;
      balanceShown = true;
      this.followLive();
    });
    this.snapshot = store.snapshot;
    void this.load();
  }

  render() {
    const last = this.snapshot?.lastPurchase;
    const warning = this.snapshot?.warningChange;
    const autoTopup = this.snapshot?.autoTopup;
    const context = this.ctx;
    return html`${
        this.childElementCount
          ? html`<slot></slot>`
          : html`<minute-topup-banner exportparts=${PARTS}></minute-topup-banner>
              <minute-topup-card exportparts=${PARTS}></minute-topup-card>`
      }
      <minute-topup-dialog exportparts=${PARTS}></minute-topup-dialog>
      <minute-topup-history exportparts=${PARTS}></minute-topup-history>
      <div role="status" class="sr-only">
        ${
          last && context
            ? context.strings.purchased(
                context.format.number(last.purchase.minutes),
                context.format.minutes(last.balance.extra.remainingSeconds),
              )
            : ''
        }
      </div>
      <div role="status" aria-live="polite" class="sr-only" id="warning-status">
        ${warning && context ? context.strings.warningChanged(warning) : ''}
      </div>
      <div role="status" aria-live="polite" class="sr-only" id="auto-topup-status">
        ${autoTopup && context ? this.autoTopupNews(autoTopup, context.strings) : ''}
      </div>`;
  }

  /** What the auto top-up region says: a pause as it happens, or what a save made of it. */
  private autoTopupNews(
    { pauseNews, settings, saved }: AutoTopupState,
    strings: MinuteTopupStrings,
  ) {
    if (pauseNews) return pausedText(strings, settings?.pausedReason);
    return saved ? strings.autoTopupSaved(saved.enabled) : '';
  }
}
