import type {
  AccountDto,
  AutoTopupDto,
  AutoTopupRequest,
  PurchaseChangeDto,
  PurchaseResultDto,
  TokenScope,
  UsageResultDto,
} from '../../contract/index.js';
import type { Clock } from '../clock.js';
import type { Catalog } from '../domain/catalog.js';

/*
 * The mock API as a host's tests see it (`minute-topup/mocks` declares these):
 * plain types over the contract, nothing of the server behind them.
 */

/** An account to create when the mock starts, in a telling state. */
export interface MockAccountSeed {
  id: string;
  /** Plan tier id (default: the catalog's first plan). */
  planId?: string;
  cycleAnchor?: string;
  /** Packages bought at start, oldest first (by package id). */
  packages?: string[];
  /** Minutes granted at start, after the packages (drawn with them, oldest first). */
  grants?: { minutes: number; reason: string }[];
  /** Seconds of calls already made this cycle, as one call (drawn plan first, then packages). */
  usedSeconds?: number;
  /** Calls made after `usedSeconds`, oldest first: the seconds of each (the Recent calls). */
  calls?: number[];
  /** Whether the test gateway declines this account's card. */
  declining?: boolean;
  /** Auto top-up settings, set after the calls (so the seeds never trigger it). */
  autoTopup?: AutoTopupRequest;
}

export interface MockApiOptions {
  /** Packages, plans and currency (default: Small, Medium, Large in USD; Starter, Growth, Scale). */
  catalog?: Catalog;
  accounts?: MockAccountSeed[];
  /** Where the ledger reads the time (default: `Date.now`). */
  clock?: Clock;
  /** The secret key the mock accepts (tests rarely need it). */
  secretKey?: string;
}

/** The real minute-topup API over an in-memory ledger, with helpers to set the scene. */
export interface MockApi {
  /** The secret key it accepts, for the routes a host's backend calls. */
  readonly secretKey: string;
  /** Answers one request as the real API would (`…/v1/…` URLs, any origin). */
  fetch(request: Request): Promise<Response>;
  /**
   * A widget token for an account (default lifetime: the API's, 15 minutes).
   * `scope` `view` (default `buy`): it reads everything and buys nothing (the
   * widget shows no buy controls; a purchase is a 403).
   */
  mintToken(accountId: string, ttlSeconds?: number, scope?: TokenScope): Promise<string>;
  /** Creates or updates an account (default plan: the catalog's first). */
  putAccount(id: string, planId?: string, cycleAnchor?: string): Promise<AccountDto>;
  /** Buys a package for an account, as a purchase through the API would. */
  buy(accountId: string, packageId: string): Promise<PurchaseResultDto>;
  /** Records a call of `seconds` (plan first, then packages oldest first, then overage). */
  recordUsage(accountId: string, seconds: number, callId?: string): Promise<UsageResultDto>;
  /** Grants free minutes, as an operator would (a package of kind `grant`, price 0). */
  grant(accountId: string, minutes: number, reason: string): Promise<PurchaseChangeDto>;
  /**
   * Refunds a purchase, as an operator would: its remaining minutes are voided
   * and the unused share of its price refunded (status `refunded`).
   */
  refund(accountId: string, purchaseId: string): Promise<PurchaseChangeDto>;
  /**
   * Sets an account's auto top-up (as `PUT …/auto-topup` would; it resumes a
   * paused one). A call that leaves the balance at or below the threshold
   * then buys the package in the background: `autoTopupsSettled` waits for it.
   */
  setAutoTopup(accountId: string, settings: AutoTopupRequest): Promise<AutoTopupDto>;
  /** Resolves once the auto top-up purchases under way are credited or declined. */
  autoTopupsSettled(): Promise<void>;
  /** Makes the test gateway decline (or, with `false`, approve again) this account's card. */
  setDeclining(accountId: string, declining?: boolean): void;
  /**
   * Makes this account's purchases wait for the customer to authenticate (a
   * 202 with a `clientSecret`, as a bank's 3-D Secure check would), or, with
   * `false`, not.
   */
  setRequiresAction(accountId: string, on?: boolean): void;
  /** The customer authenticated the payment waiting under `clientSecret` (`ok`), or failed to. */
  authenticate(clientSecret: string, ok?: boolean): void;
  /** Charges approved since the mock was created: seeded packages and repeats of a key are not counted. */
  readonly chargeCount: number;
}

export type { Catalog, PackageDef } from '../domain/catalog.js';
export type { Clock } from '../clock.js';
