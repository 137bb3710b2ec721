import type { AutoTopupDto, AutoTopupRequest, BalanceDto } from '../contract/index.js';
import type { ApiClient } from './api-client.js';
import type { ErrorEventDetail } from './events.js';

/** A field of the auto top-up editor that Save found invalid. */
export type AutoTopupField = 'threshold' | 'limit';

/** The card's **Auto top-up** row and its editor. */
export interface AutoTopupState {
  /** The setting as the API last answered; `null` until read, or when it could not be. */
  settings: AutoTopupDto | null;
  /** The editor is open. */
  editing: boolean;
  /** A save (or **Turn back on**) is under way. */
  saving: boolean;
  /** The fields the last Save found invalid (nothing was sent). */
  invalid: readonly AutoTopupField[];
  /** Why the last save failed. */
  error: ErrorEventDetail | null;
  /** What the last save made of the setting (announced by the root); `null` once editing again. */
  saved: AutoTopupDto | null;
}

export const noAutoTopup: AutoTopupState = Object.freeze({
  settings: null,
  editing: false,
  saving: false,
  invalid: [],
  error: null,
  saved: null,
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
 * API's own bounds: a threshold of 1–100,000 whole minutes, a monthly limit
 * of 1–31).
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
  /** The token may only view: nothing opens the editor. */
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
 * store.autoTopup.edit();
 * await store.autoTopup.save({ enabled: true, threshold: '30', packageId: 'medium', limit: '3' });
 */
export class AutoTopupActions {
  /** Only the newest read may publish; a save makes reads under way stale. */
  private reads = 0;

  constructor(
    private api: ApiClient,
    private host: AutoTopupHost,
  ) {}

  /** Reads the setting; a failure keeps what is shown (none: the row stays hidden). */
  async load(): Promise<void> {
    const read = ++this.reads;
    const settings = await this.api.autoTopup().catch(() => null);
    if (settings && read === this.reads) this.host.set({ settings });
  }

  /** Opens the editor on the setting shown (unless the token may only view). */
  edit(): void {
    if (this.host.viewOnly() || !this.host.state().settings) return;
    this.host.set({ editing: true, invalid: [], error: null, saved: null });
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

  private async send(request: AutoTopupRequest) {
    if (this.host.state().saving) return;
    this.reads++;
    this.host.set({ saving: true, error: null, saved: null });
    try {
      const settings = await this.api.setAutoTopup(request);
      this.host.set({ settings, saving: false, editing: false, saved: settings });
      this.host.changed(settings);
    } catch (e) {
      this.host.set({ saving: false, error: this.host.fail(e) });
    }
  }
}
