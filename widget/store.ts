import type {
  BalanceDto,
  CatalogDto,
  PurchaseDto,
  PurchaseResultDto,
  RecommendationDto,
} from '../server/contract.js';
import { ApiError, type ApiClient, type ClientErrorCode } from './api-client.js';

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
  recommendation: RecommendationDto | null;
  dialogOpen: boolean;
  historyOpen: boolean;
  selectedId: string | null;
  /** The state of the confirmation in the dialog. */
  buying: 'idle' | 'pending' | 'error';
  buyError: StoreError | null;
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
  recommendation: null,
  dialogOpen: false,
  historyOpen: false,
  selectedId: null,
  buying: 'idle',
  buyError: null,
  lastPurchase: null,
};

const toError = (e: unknown): StoreError =>
  e instanceof ApiError
    ? { code: e.code, message: e.message }
    : { code: 'internal_error', message: String(e) };

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
  /** One key per confirmation: kept across retries, dropped on success, new selection or close. */
  private key: string | null = null;

  constructor(
    private api: ApiClient,
    private events: StoreEvents = {},
    private newKey: () => string = () => crypto.randomUUID(),
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
    this.set({ status: 'loading', error: null });
    try {
      const [catalog, balance, list, recommendation] = await Promise.all([
        this.api.catalog(),
        this.api.balance(),
        this.api.purchases().catch(() => null),
        this.api.recommendation().catch(() => null),
      ]);
      this.set({
        status: 'ready',
        catalog,
        balance,
        purchases: list?.purchases ?? null,
        recommendation,
      });
    } catch (e) {
      this.set({ status: 'error', error: this.fail(e) });
    }
  }

  async loadPurchases(): Promise<void> {
    try {
      this.set({ purchases: (await this.api.purchases()).purchases });
    } catch (e) {
      this.fail(e);
    }
  }

  openDialog(): void {
    // A purchase still in flight keeps its key and selection: it can only complete once.
    if (this.snapshot.buying === 'pending')
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
    this.key = null;
    this.set({ dialogOpen: false, buying: 'idle', buyError: null });
  }

  select(packageId: string): void {
    if (this.snapshot.buying === 'pending' || packageId === this.snapshot.selectedId) return;
    this.key = null;
    this.set({ selectedId: packageId, buying: 'idle', buyError: null });
  }

  /** Buy the selected package. A second call while one is pending does nothing. */
  async confirm(): Promise<void> {
    const { selectedId, buying } = this.snapshot;
    if (!selectedId || buying === 'pending') return;
    const key = (this.key ??= this.newKey());
    this.set({ buying: 'pending', buyError: null });
    try {
      const result = await this.api.purchase(selectedId, key);
      this.key = null;
      this.set({
        balance: result.balance,
        purchases: [
          result.purchase,
          ...(this.snapshot.purchases ?? []).filter((p) => p.id !== result.purchase.id),
        ],
        dialogOpen: false,
        buying: 'idle',
        lastPurchase: result,
      });
      this.events.purchase?.(result);
      this.api.recommendation().then(
        (recommendation) => this.set({ recommendation }),
        () => {},
      );
    } catch (e) {
      // The key survives: a retry of this confirmation cannot charge twice.
      this.set({ buying: 'error', buyError: this.fail(e) });
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
