import type {
  BalanceDto,
  CatalogDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
} from '../contract/index.js';
import { ApiError, type ApiClient, type ClientErrorCode } from './api-client.js';
import { newIdempotencyKey } from './idempotency-key.js';

export interface StoreError {
  code: ClientErrorCode;
  message: string;
}

/** Everything the views render. Immutable: every change publishes a new object. */
export interface Snapshot {
  status: 'loading' | 'ready' | 'error';
  /** Why loading failed (status `error`). */
  error: StoreError | null;
  catalog: CatalogDto | null;
  balance: BalanceDto | null;
  /** Newest first; `null` until loaded. */
  purchases: PurchaseDto[] | null;
  /** Why the list of packages could not be loaded (while `purchases` is `null`). */
  purchasesError: StoreError | null;
  recommendation: RecommendationDto | null;
  dialogOpen: boolean;
  historyOpen: boolean;
  selectedId: string | null;
  /** The state of the confirmation in the dialog. */
  buying: 'idle' | 'pending' | 'error';
  buyError: StoreError | null;
  /**
   * The last confirmation got no definite answer (network error, 5xx): it may
   * have been charged. Its package and idempotency key are kept, across closing
   * the dialog, until a retry gets a definite answer; the selection is locked.
   */
  buyUnconfirmed: boolean;
  /** The last successful purchase (announced by the root). */
  lastPurchase: PurchaseResultDto | null;
}

/** Outward facts, turned into DOM events by the root. */
export interface StoreEvents {
  purchase?(result: PurchaseResultDto): void;
  error?(error: StoreError): void;
}

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
  selectedId: null,
  buying: 'idle',
  buyError: null,
  buyUnconfirmed: false,
  lastPurchase: null,
};

/** An `ApiError` as it is; anything else thrown is a bug or a broken page: `unexpected`. */
const toError = (e: unknown): StoreError =>
  e instanceof ApiError
    ? { code: e.code, message: e.message }
    : { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };

/**
 * No definite answer: the purchase may have gone through (no response, 409,
 * 5xx, or a throw while it was under way).
 */
const unconfirmed = (e: unknown) =>
  !(e instanceof ApiError) || e.code === 'network' || e.status === 409 || e.status >= 500;

/**
 * The widget's state and actions, free of the DOM: actions call the API and
 * publish a new snapshot; subscribers re-render from it.
 *
 * @example
 * const store = new TopupStore(createApiClient({ base, accountId, token: () => token }));
 * store.subscribe((s) => render(s));
 * await store.load();
 */
export class TopupStore {
  snapshot: Snapshot = initial;
  private listeners = new Set<(s: Snapshot) => void>();
  /**
   * One key per confirmation: kept across retries, dropped on success, new
   * selection or close; kept until a definite answer while `buyUnconfirmed`.
   */
  private key: string | null = null;
  /** Only the newest load (and list load) may publish its result. */
  private loads = 0;
  private lists = 0;

  constructor(
    private api: ApiClient,
    private events: StoreEvents = {},
    private newKey: () => string = newIdempotencyKey,
  ) {}

  subscribe(listener: (s: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<Snapshot>) {
    this.snapshot = Object.freeze({ ...this.snapshot, ...patch });
    for (const l of this.listeners) l(this.snapshot);
  }

  private fail(e: unknown) {
    const error = toError(e);
    this.events.error?.(error);
    return error;
  }

  /** Catalog, balance, packages and advice in one round of parallel requests. */
  async load(): Promise<void> {
    const n = ++this.loads;
    const list = ++this.lists;
    this.set({ status: 'loading', error: null });
    let listError: StoreError | null = null;
    try {
      const [catalog, balance, purchases, recommendation] = await Promise.all([
        this.api.catalog(),
        this.api.balance(),
        this.api.purchases().catch((e) => ((listError = toError(e)), null)),
        this.api.recommendation().catch(() => null),
      ]);
      if (n !== this.loads) return;
      // A list known before stays when only its refresh failed.
      const newList = list === this.lists && (purchases || !this.snapshot.purchases);
      this.set({
        status: 'ready',
        catalog,
        balance,
        recommendation,
        ...(newList && { purchases: purchases?.purchases ?? null, purchasesError: listError }),
      });
    } catch (e) {
      if (n === this.loads) this.set({ status: 'error', error: this.fail(e) });
    }
  }

  /** The list of packages alone (history, Retry in the history, after a purchase). */
  async loadPurchases(): Promise<void> {
    const n = ++this.lists;
    try {
      const { purchases } = await this.api.purchases();
      if (n === this.lists) this.set({ purchases, purchasesError: null });
    } catch (e) {
      if (n === this.lists && !this.snapshot.purchases) this.set({ purchasesError: this.fail(e) });
    }
  }

  /** Balance and list again: after a purchase whose answer was lost. */
  private async refresh(): Promise<void> {
    const n = this.loads;
    const [balance] = await Promise.all([
      this.api.balance().catch(() => null),
      this.loadPurchases(),
    ]);
    if (balance && n === this.loads) this.set({ balance });
  }

  openDialog(): void {
    // A purchase in flight, or without a definite answer, keeps its key and
    // selection (and its error and Retry): it can only complete once.
    if (this.snapshot.buying === 'pending' || this.snapshot.buyUnconfirmed)
      return this.set({ dialogOpen: true, historyOpen: false });
    const packages = this.snapshot.catalog?.packages ?? [];
    const popular = packages.find((p) => p.popular) ?? packages[0];
    this.key = null;
    this.set({
      dialogOpen: true,
      historyOpen: false,
      selectedId: popular?.id ?? null,
      buying: 'idle',
      buyError: null,
    });
  }

  closeDialog(): void {
    if (!this.snapshot.dialogOpen) return;
    if (this.snapshot.buying === 'pending') return this.set({ dialogOpen: false });
    if (this.snapshot.buyUnconfirmed) {
      // It may have gone through: show what the API knows now.
      this.set({ dialogOpen: false });
      return void this.refresh();
    }
    this.key = null;
    this.set({ dialogOpen: false, buying: 'idle', buyError: null });
  }

  select(packageId: string): void {
    const { buying, buyUnconfirmed, selectedId } = this.snapshot;
    if (buying === 'pending' || buyUnconfirmed || packageId === selectedId) return;
    this.key = null;
    this.set({ selectedId: packageId, buying: 'idle', buyError: null });
  }

  /**
   * Buy the selected package. A second call while one is pending does nothing.
   * Never rejects: whatever fails, even unexpectedly, ends as an error in the
   * dialog and a `minute-topup-error` event.
   */
  async confirm(): Promise<void> {
    const { selectedId, buying } = this.snapshot;
    if (!selectedId || buying === 'pending') return;
    // Whether the request may have left: a failure before it is a definite "no".
    let sent = false;
    try {
      const key = (this.key ??= this.newKey());
      this.set({ buying: 'pending', buyError: null });
      sent = true;
      const result = await this.api.purchase(selectedId, key);
      this.key = null;
      const known = this.snapshot.purchases;
      this.set({
        balance: result.balance,
        purchases: known && [result.purchase, ...known.filter((p) => p.id !== result.purchase.id)],
        dialogOpen: false,
        buying: 'idle',
        buyUnconfirmed: false,
        lastPurchase: result,
      });
      // Without the list before, the new purchase alone would pass for all of it.
      if (!known) void this.loadPurchases();
      this.events.purchase?.(result);
      this.api.recommendation().then(
        (recommendation) => this.set({ recommendation }),
        () => {},
      );
    } catch (e) {
      // The key survives: a retry of this confirmation cannot charge twice.
      this.set({
        buying: 'error',
        buyError: this.fail(e),
        buyUnconfirmed: sent ? unconfirmed(e) : this.snapshot.buyUnconfirmed,
      });
    }
  }

  openHistory(): void {
    if (!this.snapshot.purchases) void this.loadPurchases();
    this.set({ historyOpen: true, dialogOpen: false });
  }

  closeHistory(): void {
    if (this.snapshot.historyOpen) this.set({ historyOpen: false });
  }
}
