import type { AutoTopupDto, AutoTopupRequest, BalanceDto } from '../contract/index.js';
import type { ApiClient } from './api-client.js';
import type { ErrorEventDetail } from './events.js';

/** A field of the auto top-up editor that Save found invalid. */
export type AutoTopupField = 'threshold' | 'package' | 'limit';

/** The card's **Auto top-up** row and its editor. */
export interface AutoTopupState {
  /** The setting as the API last answered; `null` until read, or when it could not be. */
  settings: AutoTopupDto | null;
  /** The editor is open. */
  editing: boolean;
  /**
   * The setting the editor opened on: its fields' first values. A read while
   * editing changes `settings`, never what is typed.
   */
  form: AutoTopupDto | null;
  /** A save (or **Turn back on**) is under way. */
  saving: boolean;
  /** The fields the last Save found invalid (nothing was sent). */
  invalid: readonly AutoTopupField[];
  /** Why the last save failed. */
  error: ErrorEventDetail | null;
  /** What the last save made of the setting (announced by the root); `null` once editing again. */
  saved: AutoTopupDto | null;
  /** A read found it newly paused (announced by the root, in place of `saved`); until it is not. */
  pauseNews: boolean;
}

export const noAutoTopup: AutoTopupState = Object.freeze({
  settings: null,
  editing: false,
  form: null,
  saving: false,
  invalid: [],
  error: null,
  saved: null,
  pauseNews: false,
});

/** The editor's fields as typed: the inputs' values. */
export interface AutoTopupDraft {
  enabled: boolean;
  threshold: string;
  packageId: string;
  limit: string;
}

/** A whole number from `min` to `max`, written with digits only; `NaN` otherwise. */
const whole = (text: string, min: number, max: number) => {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  return n >= min && n <= max ? n : NaN;
};

/**
 * The request a draft makes, or the fields that keep it from being one (the
 * API's own bounds: a threshold of 1–100,000 whole minutes, a package — none
 * while the one set is no longer offered —, a monthly limit of 1–31).
 *
 * @example
 * parseAutoTopup({ enabled: true, threshold: '30', packageId: 'medium', limit: '3' });
 * // { enabled: true, thresholdMinutes: 30, packageId: 'medium', monthlyLimit: 3 }
 * parseAutoTopup({ enabled: true, threshold: '0', packageId: 'medium', limit: '32' });
 * // ['threshold', 'limit']
 */
export function parseAutoTopup(draft: AutoTopupDraft): AutoTopupRequest | AutoTopupField[] {
  const thresholdMinutes = whole(draft.threshold, 1, 100_000);
  const monthlyLimit = whole(draft.limit, 1, 31);
  const invalid: AutoTopupField[] = [];
  if (!thresholdMinutes) invalid.push('threshold');
  if (!draft.packageId) invalid.push('package');
  if (!monthlyLimit) invalid.push('limit');
  return invalid.length
    ? invalid
    : { enabled: draft.enabled, thresholdMinutes, packageId: draft.packageId, monthlyLimit };
}

/**
 * Whether a live balance may come with a change of the auto top-up the widget
 * should read (only then is it read again, so that calls do not each cost a
 * read): while it is on, a purchase (an auto one counts towards the limit; a
 * manual one resumes it), a new cycle (the count starts again), or, while it
 * is active, minutes at or below the threshold (a purchase starts, or a
 * declined one pauses it: a change of the version alone, perhaps folded into
 * the usage's event).
 */
export function autoTopupMayChange(
  settings: AutoTopupDto | null,
  shown: BalanceDto,
  next: BalanceDto,
): boolean {
  if (!settings?.enabled) return false;
  if (next.extra.remainingSeconds > shown.extra.remainingSeconds) return true;
  if (next.plan.cycleStart !== shown.plan.cycleStart) return true;
  const left = next.plan.remainingSeconds + next.extra.remainingSeconds;
  return settings.status === 'active' && left <= settings.thresholdMinutes * 60;
}

/** What the store lends the auto top-up actions. */
export interface AutoTopupHost {
  state(): AutoTopupState;
  set(patch: Partial<AutoTopupState>): void;
  /** The token may only view: nothing opens the editor, nothing is sent. */
  viewOnly(): boolean;
  /** A failure, reported to the host page (`minute-topup-error`). */
  fail(e: unknown): ErrorEventDetail;
  /** A saved setting, told to the host page (`minute-topup-auto-topup-change`). */
  changed(settings: AutoTopupDto): void;
}

/**
 * The auto top-up's actions: read it, edit it, save it, turn it back on.
 * Each publishes a new `AutoTopupState` through the store.
 *
 * @example
 * await store.autoTopup.edit();
 * await store.autoTopup.save({ enabled: true, threshold: '30', packageId: 'medium', limit: '3' });
 */
export class AutoTopupActions {
  /**
   * Only the newest read may publish. A save makes reads under way stale, as
   * it starts and as it settles: one that started during it may answer with
   * the setting before it.
   */
  private reads = 0;

  constructor(
    private api: ApiClient,
    private host: AutoTopupHost,
  ) {}

  /**
   * Reads the setting; a failure keeps what is shown (none: the row stays
   * hidden). A pause seen happening is news for the root to announce; an
   * error shown about the setting before it is dropped.
   */
  async load(): Promise<void> {
    const read = ++this.reads;
    const settings = await this.api.autoTopup().catch(() => null);
    if (!settings || read !== this.reads) return;
    const { settings: shown, editing } = this.host.state();
    const paused = settings.status === 'paused';
    const news = paused && !!shown && shown.status !== 'paused';
    this.host.set({
      settings,
      ...(!paused && { pauseNews: false }),
      ...(news && { pauseNews: true, saved: null, ...(!editing && { error: null }) }),
    });
  }

  /**
   * Opens the editor (unless the token may only view) on the setting read
   * again: another tab may have changed it, and a Save sends every field.
   */
  async edit(): Promise<void> {
    if (this.host.viewOnly() || !this.host.state().settings) return;
    await this.load();
    const form = this.host.state().settings;
    if (this.host.viewOnly() || !form) return;
    this.host.set({ editing: true, form, invalid: [], error: null, saved: null });
  }

  /** Closes the editor, dropping what was typed (not while saving). */
  cancel(): void {
    if (!this.host.state().saving) this.host.set({ editing: false, invalid: [], error: null });
  }

  /** Save: checks the draft (nothing is sent while a field is invalid), then sends it. */
  async save(draft: AutoTopupDraft): Promise<void> {
    const request = parseAutoTopup(draft);
    const invalid = Array.isArray(request) ? request : [];
    this.host.set({ invalid });
    if (!invalid.length) await this.send(request as AutoTopupRequest);
  }

  /** **Turn back on**: the setting shown, sent again (a PUT always resumes). */
  async resume(): Promise<void> {
    const settings = this.host.state().settings;
    if (!settings) return;
    const { status, pausedReason, cycleCount, ...request } = settings;
    await this.send(request);
  }

  /** Sends a setting: never with a view-only token, one at a time. */
  private async send(request: AutoTopupRequest) {
    if (this.host.state().saving || this.host.viewOnly()) return;
    this.reads++;
    this.host.set({ saving: true, error: null, saved: null, pauseNews: false });
    try {
      const settings = await this.api.setAutoTopup(request).finally(() => this.reads++);
      this.host.set({ settings, saving: false, editing: false, saved: settings });
      this.host.changed(settings);
    } catch (e) {
      // A token that turned view-only meanwhile closes the editor, now that the save settled.
      const editing = this.host.state().editing && !this.host.viewOnly();
      this.host.set({ saving: false, editing, error: this.host.fail(e) });
    }
  }
}
