import type { PurchaseActionDto } from '../contract/index.js';
import type { ErrorEventDetail } from './events.js';

/**
 * The confirmation in the dialog. A purchase under way, failed or waiting
 * carries its package and its idempotency key: one key per confirmation,
 * reused by every retry, gone with the state when it returns to `idle`
 * (success, a new selection, or closing after a definite answer).
 */
export type BuyingState =
  | { kind: 'idle' }
  | {
      kind: 'pending';
      packageId: string;
      key: string;
      /** A retry of a confirmation without a definite answer (see `failed`, `waiting`). */
      unconfirmed: boolean;
      /**
       * The bank's check is under way: the host's `authenticate` runs, or the
       * purchase is asked for again after the bank held it.
       */
      bank: boolean;
    }
  | {
      kind: 'failed';
      packageId: string;
      /** Absent when even making the key failed: nothing was sent. */
      key?: string;
      error: ErrorEventDetail;
      /**
       * No definite answer (network error, 409, 5xx): it may have been charged.
       * The state stays, across closing the dialog, until a retry gets one; the
       * selection is locked meanwhile.
       */
      unconfirmed: boolean;
    }
  | {
      /**
       * The API accepted the purchase but it is not paid yet (202): the bank
       * wants the customer to confirm it, or the processor is still working.
       * Like a purchase without a definite answer, it stays (and locks the
       * selection) until a retry under its key settles it.
       */
      kind: 'waiting';
      packageId: string;
      key: string;
      action: PurchaseActionDto;
    };

/**
 * Whether a purchase may have been charged: an attempt (pending or failed)
 * that has had no definite answer yet, or a payment still waiting.
 */
export const mayHaveCharged = (buying: BuyingState) =>
  buying.kind === 'waiting' || (buying.kind !== 'idle' && buying.unconfirmed);

/** Whether the package may not change: a purchase is under way or may have gone through. */
export const selectionLocked = (buying: BuyingState) =>
  buying.kind === 'pending' || mayHaveCharged(buying);

/**
 * Whether a waiting payment needs the customer's bank (`requires_action`
 * with a `clientSecret`); otherwise the processor is still working on it.
 */
export const needsBank = (
  action: PurchaseActionDto,
): action is PurchaseActionDto & { clientSecret: string } =>
  action.purchase.status === 'requires_action' && typeof action.clientSecret === 'string';
