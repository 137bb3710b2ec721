import type {
  AutoTopupDto,
  BalanceDto,
  CatalogDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
  TokenScope,
  WarningLevel,
} from '../contract/index.js';
import { ApiError, isPurchaseAction, type ApiClient } from './api-client.js';
import { mayHaveCharged, needsBank, selectionLocked, type BuyingState } from './buying.js';
import { noCalls, withFirstPage, withNextPage, type CallsState } from './calls.js';
import {
  AutoTopupActions,
  autoTopupMayChange,
  noAutoTopup,
  type AutoTopupState,
} from './auto-topup.js';
import { tokenScope } from './scope.js';
import type { AuthenticateEventDetail, ErrorEventDetail, PurchaseEventDetail } from './events.js';
import { randomUuid } from '../contract/random-uuid.js';

/** Everything the views render. Immutable: every change publishes a new object. */
export interface Snapshot {
  status: 'loading' | 'ready' | 'error';
  /** Why loading failed (status `error`). */
  error: ErrorEventDetail | null;
  catalog: CatalogDto | null;
  balance: BalanceDto | null;
  /** Newest first; `null` until loaded. */
  purchases: PurchaseDto[] | null;
  /** Why the list of packages could not be loaded (while `purchases` is `null`). */
  purchasesError: ErrorEventDetail | null;
  recommendation: RecommendationDto | null;
  dialogOpen: boolean;
  historyOpen: boolean;
  /** The history's view: the packages (where **View packages** opens it) or the recent calls. */
  historyTab: HistoryTab;
  /** The recent calls loaded so far. */
  calls: CallsState;
  /** The auto top-up setting and its editor. */
  autoTopup: AutoTopupState;
  /**
   * What the token in use may do (its `scope` claim): with `view` nothing
   * offers to spend and the purchase dialog does not open.
   */
  scope: TokenScope;
  /** The package chosen in the dialog (while buying, the one being bought). */
  selectedId: string | null;
  buying: BuyingState;
  /** The last successful purchase (announced by the root). */
  lastPurchase: PurchaseResultDto | null;
  /** The warning level a live balance changed to (announced by the root); `null` after a purchase. */
  warningChange: WarningLevel | null;
}

export type HistoryTab = 'packages' | 'calls';

/** Outward facts, turned into DOM events by the root, and what the host lends the store. */
export interface StoreHost {
  purchase?(result: PurchaseEventDetail): void;
  /** The auto top-up setting was saved (or turned back on): the setting after it. */
  autoTopupChange?(settings: AutoTopupDto): void;
  error?(error: ErrorEventDetail): void;
  /** A payment waits for the customer's bank, and there is no `authenticate` to run it. */
  authenticationRequired?(detail: AuthenticateEventDetail): void;
  /**
   * The host's way to let the customer authenticate a payment (Stripe.js
   * `handleNextAction`): resolves once done, rejects when it could not be.
   * Read at each purchase.
   */
  readonly authenticate?: (clientSecret: string) => Promise<void>;
}

const idle: BuyingState = { kind: 'idle' };

const initial: Snapshot = {
  status: 'loading',
  error: null,
  catalog: null,
  balance: null,
  purchases: null,
  purchasesError: null,
  recommendation: null,
  dialogOpen: false,
  historyOpen: false,
  historyTab: 'packages',
  calls: noCalls,
  autoTopup: noAutoTopup,
  scope: 'buy',
  selectedId: null,
  buying: idle,
  lastPurchase: null,
  warningChange: null,
};

/**
 * Whether balance `a` is newer than `b` (any is newer than none). Versions
 * only grow; a version that is not a number is never newer.
 */
const isNewer = (a: BalanceDto, b: BalanceDto | null) => !b || a.version > b.version;

/** Of the balance shown and one just read, the newer; the one read when neither is. */
const newer = (shown: BalanceDto | null, read: BalanceDto) =>
  shown && isNewer(shown, read) ? shown : read;

/** An `ApiError` as it is; anything else thrown is a bug or a broken page: `unexpected`. */
const toError = (e: unknown): ErrorEventDetail =>
  e instanceof ApiError
    ? { code: e.code, message: e.message }
    : { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };

/**
 * A definite answer: the purchase did not go through. Anything else (no
 * response, 409, 5xx, or a throw while it was under way) may have charged.
 */
const definite = (e: unknown) =>
  e instanceof ApiError && e.code !== 'network' && e.status !== 409 && e.status < 500;

/**
 * The widget's state and actions, free of the DOM: actions call the API and
 * publish a new snapshot; subscribers re-render from it.
 *
 * @example
 * const store = new TopupStore(createApiClient({ base, accountId, token: () => token }));
 * store.subscribe((snapshot) => render(snapshot));
 * await store.load();
 */
export class TopupStore {
  snapshot: Snapshot = initial;
  private listeners = new Set<(snapshot: Snapshot) => void>();
  /** Only the newest load (and list load) may publish its result. */
  private loads = 0;
  private lists = 0;
  /** Only the newest first-page load of the calls may publish; a replaced list drops pages on their way. */
  private callLoads = 0;
  private callLists = 0;
  /** Reading, editing and saving the auto top-up setting (`snapshot.autoTopup`). */
  readonly autoTopup: AutoTopupActions;

  constructor(
    private api: ApiClient,
    private host: StoreHost = {},
    private newKey: () => string = randomUuid,
  ) {
    this.autoTopup = new AutoTopupActions(api, {
      state: () => this.snapshot.autoTopup,
      set: (patch) =>
        this.set({ autoTopup: Object.freeze({ ...this.snapshot.autoTopup, ...patch }) }),
      viewOnly: () => this.snapshot.scope === 'view',
      fail: (e) => this.fail(e),
      changed: (settings) => this.host.autoTopupChange?.(settings),
    });
  }

  subscribe(listener: (snapshot: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<Snapshot>) {
    this.snapshot = Object.freeze({ ...this.snapshot, ...patch });
    for (const listener of this.listeners) listener(this.snapshot);
  }

  private fail(e: unknown) {
    const error = toError(e);
    this.host.error?.(error);
    return error;
  }

  /**
   * The token the API client sends now (the first, or a fresh one): its scope
   * decides whether buying is offered. Turned `view`, an open dialog that is
   * not in the middle of a purchase closes, and so does the auto top-up editor
   * (once a save under way settles).
   */
  useToken(token: string): void {
    const scope = tokenScope(token);
    if (scope === this.snapshot.scope) return;
    const { dialogOpen, buying } = this.snapshot;
    this.set({ scope });
    if (scope !== 'view') return;
    if (dialogOpen && buying.kind === 'idle') this.closeDialog();
    this.autoTopup.cancel();
  }

  /** Catalog, balance, packages, advice and auto top-up in one round of parallel requests. */
  async load(): Promise<void> {
    const load = ++this.loads;
    const listLoad = ++this.lists;
    this.set({ status: 'loading', error: null });
    let listError: ErrorEventDetail | null = null;
    try {
      const [catalog, balance, purchases, recommendation] = await Promise.all([
        this.api.catalog(),
        this.api.balance(),
        this.api.purchases().catch((e) => ((listError = toError(e)), null)),
        this.api.recommendation().catch(() => null),
        this.autoTopup.load(),
      ]);
      if (load !== this.loads) return;
      // A list known before stays when only its refresh failed.
      const newList = listLoad === this.lists && (purchases || !this.snapshot.purchases);
      this.set({
        status: 'ready',
        catalog,
        // The live stream may have shown a newer one while this load ran.
        balance: newer(this.snapshot.balance, balance),
        recommendation,
        ...(newList && { purchases: purchases?.purchases ?? null, purchasesError: listError }),
      });
    } catch (e) {
      if (load === this.loads) this.set({ status: 'error', error: this.fail(e) });
    }
  }

  /** The list of packages alone (history, Retry in the history, after a purchase). */
  async loadPurchases(): Promise<void> {
    const listLoad = ++this.lists;
    try {
      const { purchases } = await this.api.purchases();
      if (listLoad === this.lists) this.set({ purchases, purchasesError: null });
    } catch (e) {
      if (listLoad === this.lists && !this.snapshot.purchases)
        this.set({ purchasesError: this.fail(e) });
    }
  }

  /** Balance and list again: after a purchase whose answer was lost. */
  private async refresh(): Promise<void> {
    const load = this.loads;
    const [balance] = await Promise.all([
      this.api.balance().catch(() => null),
      this.loadPurchases(),
    ]);
    if (balance && load === this.loads)
      this.set({ balance: newer(this.snapshot.balance, balance) });
  }

  /**
   * A balance from the live stream: shown when newer (by `version`) than the
   * one shown, else ignored. When its extra minutes or active packages
   * changed, the list of packages is fetched again (if loaded or open); a
   * change of warning level is kept in `warningChange` for the root to announce.
   * The auto top-up is read again when the change may have moved it
   * (`autoTopupMayChange`).
   */
  liveBalance(balance: BalanceDto): void {
    const shown = this.snapshot.balance;
    if (!isNewer(balance, shown)) return;
    const extraChanged =
      shown?.extra.remainingSeconds !== balance.extra.remainingSeconds ||
      shown.extra.activePackages !== balance.extra.activePackages;
    this.set({
      balance,
      ...(shown && shown.warning !== balance.warning && { warningChange: balance.warning }),
    });
    if (extraChanged && (this.snapshot.purchases || this.snapshot.historyOpen))
      void this.loadPurchases();
    if (this.snapshot.historyOpen && this.snapshot.historyTab === 'calls') void this.loadCalls();
    if (shown && autoTopupMayChange(this.snapshot.autoTopup.settings, shown, balance))
      void this.autoTopup.load();
  }

  /** Opens the purchase dialog, unless the token may only view. */
  openDialog(): void {
    if (this.snapshot.scope === 'view') return;
    // A purchase in flight, or without a definite answer, keeps its key and
    // package (and its error and Retry): it can only complete once.
    if (selectionLocked(this.snapshot.buying))
      return this.set({ dialogOpen: true, historyOpen: false });
    const packages = this.snapshot.catalog?.packages ?? [];
    const popular = packages.find((pkg) => pkg.popular) ?? packages[0];
    this.set({
      dialogOpen: true,
      historyOpen: false,
      selectedId: popular?.id ?? null,
      buying: idle,
    });
  }

  closeDialog(): void {
    const { dialogOpen, buying } = this.snapshot;
    if (!dialogOpen) return;
    if (buying.kind === 'pending') return this.set({ dialogOpen: false });
    // A failed attempt without a definite answer, or a payment still waiting,
    // may have gone through: it stays (with its Retry), and the API is asked
    // what it knows now. Anything else (idle, a definite failure) is dropped.
    if (mayHaveCharged(buying)) {
      this.set({ dialogOpen: false });
      return void this.refresh();
    }
    this.set({ dialogOpen: false, buying: idle });
  }

  select(packageId: string): void {
    const { buying, selectedId } = this.snapshot;
    if (selectionLocked(buying) || packageId === selectedId) return;
    this.set({ selectedId: packageId, buying: idle });
  }

  /**
   * Buy the selected package, or retry the failed or waiting purchase with its
   * key. A second call while one is pending does nothing. Never rejects:
   * whatever fails, even unexpectedly, ends as an error in the dialog and a
   * `minute-topup-error` event.
   *
   * A payment the customer's bank holds (202 `requires_action`) goes to the
   * host's `authenticate` when there is one, and is then asked for again under
   * the same key; without one, the host hears of it (`authenticationRequired`).
   * Either way, one still not paid ends as `waiting`, retried by `confirm`.
   */
  async confirm(): Promise<void> {
    const { selectedId, buying } = this.snapshot;
    if (!selectedId || buying.kind === 'pending') return;
    const retry = buying.kind === 'failed' || buying.kind === 'waiting' ? buying : undefined;
    const packageId = retry?.packageId ?? selectedId;
    let key = retry?.key;
    let unconfirmed = retry ? mayHaveCharged(retry) : false;
    // Asking again about a payment the bank held: the answer is the bank's.
    let bank = buying.kind === 'waiting' && needsBank(buying.action);
    try {
      key ??= this.newKey();
      const send = (key: string) => {
        this.set({ buying: { kind: 'pending', packageId, key, unconfirmed, bank } });
        // From here the request may have left: only a definite answer settles it.
        unconfirmed = true;
        return this.api.purchase(packageId, key);
      };
      const authenticate = this.host.authenticate;
      let answer = await send(key);
      if (isPurchaseAction(answer) && needsBank(answer)) {
        const { clientSecret, purchase } = answer;
        if (!authenticate) {
          this.host.authenticationRequired?.({ clientSecret, purchase });
        } else {
          bank = true;
          this.set({ buying: { kind: 'pending', packageId, key, unconfirmed, bank } });
          // The host's own code: a throw, even a synchronous one, is a refusal.
          const done = await new Promise<void>((resolve) => resolve(authenticate(clientSecret)))
            .then(() => true)
            .catch(() => false);
          if (done) answer = await send(key);
        }
      }
      if (isPurchaseAction(answer)) {
        // Listed at once, as not paid yet (the balance has not changed).
        const purchases = this.withPurchase(answer.purchase);
        this.set({ purchases, buying: { kind: 'waiting', packageId, key, action: answer } });
      } else {
        this.bought(answer);
      }
    } catch (e) {
      // The key stays with the failed purchase: a retry cannot charge twice.
      const error = this.fail(e);
      unconfirmed &&= !definite(e);
      this.set({ buying: { kind: 'failed', packageId, key, error, unconfirmed } });
    }
  }

  /** A purchase paid and credited: show it everywhere at once, and tell the host. */
  private bought(result: PurchaseResultDto) {
    const known = this.snapshot.purchases;
    this.set({
      balance: newer(this.snapshot.balance, result.balance),
      purchases: this.withPurchase(result.purchase),
      dialogOpen: false,
      buying: idle,
      lastPurchase: result,
      // Announced with the purchase: a later live change of level is news again.
      warningChange: null,
    });
    // Without the list before, the new purchase alone would pass for all of it.
    if (!known) void this.loadPurchases();
    this.host.purchase?.(result);
    // A manual purchase resumes a paused auto top-up.
    if (this.snapshot.autoTopup.settings?.enabled) void this.autoTopup.load();
    this.api.recommendation().then(
      (recommendation) => this.set({ recommendation }),
      () => {},
    );
  }

  /** The known list with `purchase` first (in place of what it was), or still unknown. */
  private withPurchase(purchase: PurchaseDto): PurchaseDto[] | null {
    const known = this.snapshot.purchases;
    return known && [purchase, ...known.filter((other) => other.id !== purchase.id)];
  }

  /** Opens the history on its packages. */
  openHistory(): void {
    if (!this.snapshot.purchases) void this.loadPurchases();
    this.set({ historyOpen: true, historyTab: 'packages', dialogOpen: false });
  }

  /** Shows the packages or the recent calls (whose first page is read again each time). */
  showHistoryTab(tab: HistoryTab): void {
    if (tab === this.snapshot.historyTab) return;
    this.set({ historyTab: tab });
    if (tab === 'calls') void this.loadCalls();
  }

  private setCalls(patch: Partial<CallsState>) {
    this.set({ calls: Object.freeze({ ...this.snapshot.calls, ...patch }) });
  }

  /**
   * The first page of recent calls, over the calls shown (see
   * `withFirstPage`). A failure shows when nothing is shown yet; otherwise
   * the list stays as it was.
   */
  async loadCalls(): Promise<void> {
    const load = ++this.callLoads;
    if (!this.snapshot.calls.items) this.setCalls({ error: null });
    try {
      const page = await this.api.usage();
      if (load !== this.callLoads) return;
      const { replaced, ...next } = withFirstPage(this.snapshot.calls, page);
      // A next page asked for after the list now gone would not follow it.
      if (replaced) this.callLists++;
      this.setCalls({ ...next, error: null, ...(replaced && { loadingMore: false }) });
    } catch (e) {
      if (load === this.callLoads && !this.snapshot.calls.items)
        this.setCalls({ error: this.fail(e) });
    }
  }

  /** **Show more**: the page after the calls shown (once at a time); a failure shows with Retry. */
  async moreCalls(): Promise<void> {
    const { items, nextCursor, loadingMore } = this.snapshot.calls;
    if (!items || !nextCursor || loadingMore) return;
    const list = this.callLists;
    this.setCalls({ loadingMore: true, error: null });
    try {
      const page = await this.api.usage(nextCursor);
      if (list === this.callLists)
        this.setCalls({ ...withNextPage(this.snapshot.calls, page), loadingMore: false });
    } catch (e) {
      if (list === this.callLists) this.setCalls({ loadingMore: false, error: this.fail(e) });
    }
  }

  closeHistory(): void {
    if (this.snapshot.historyOpen) this.set({ historyOpen: false });
  }
}
