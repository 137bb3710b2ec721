/**
 * The HTTP contract of the minute-topup API: the JSON bodies it sends and
 * receives. The widget imports these with `import type`, so the two halves
 * can never drift apart. Times are ISO-8601 strings in UTC, amounts of time
 * are integer seconds (`…Seconds`), money is integer minor units (`…Minor`)
 * with an ISO-4217 `currency`.
 */

export type Iso8601 = string;

export interface PackageDto {
  id: string;
  name: string;
  minutes: number;
  priceMinor: number;
  /** Derived: `priceMinor / minutes`, rounded to the nearest minor unit. */
  perMinuteMinor: number;
  popular: boolean;
}

export interface PlanTierDto {
  id: string;
  name: string;
  monthlyMinutes: number;
  priceMinor: number;
}

export interface CatalogDto {
  currency: string;
  packages: PackageDto[];
  plans: PlanTierDto[];
}

export type WarningLevel = 'none' | 'low' | 'exhausted' | 'empty';

export interface BalanceDto {
  plan: {
    id: string;
    name: string;
    allowanceSeconds: number;
    usedSeconds: number;
    remainingSeconds: number;
    cycleStart: Iso8601;
    cycleEnd: Iso8601;
  };
  extra: {
    remainingSeconds: number;
    activePackages: number;
  };
  /** Usage of the current cycle that neither plan nor extra minutes covered. */
  overageSeconds: number;
  warning: WarningLevel;
  /**
   * The account's ledger version: grows with every change of its balance
   * (usage, purchase, refund, plan change). The id of the live `balance` events.
   */
  version: number;
}

/**
 * `active` purchases are drawn from (oldest first) until `used`. Before its
 * minutes are credited a purchase may be `pending` (the processor is still
 * working) or `requires_action` (the customer's bank wants them to
 * authenticate); it ends `failed` if the payment does not go through, and
 * `refunded` when its payment is refunded (its remaining minutes voided).
 * Only `active` purchases hold minutes.
 */
export type PurchaseStatus =
  'pending' | 'requires_action' | 'active' | 'used' | 'failed' | 'refunded';

/** `package`: bought from the catalog; `grant`: free minutes an operator gave (price 0). */
export type PurchaseKind = 'package' | 'grant';

export interface PurchaseDto {
  id: string;
  /** The catalog package bought; `grant` for a grant. */
  packageId: string;
  kind: PurchaseKind;
  name: string;
  minutes: number;
  priceMinor: number;
  currency: string;
  purchasedAt: Iso8601;
  totalSeconds: number;
  remainingSeconds: number;
  status: PurchaseStatus;
  /** Seconds a refund voided (what remained when it was refunded); only on `refunded` purchases. */
  refundedSeconds?: number;
  /** Money refunded, minor units (the unused share of the price, rounded down); only on `refunded` purchases. */
  refundMinor?: number;
  /** When it was refunded; only on `refunded` purchases. */
  refundedAt?: Iso8601;
  /** Why an operator granted the minutes; only on grants. */
  reason?: string;
}

/** `POST /v1/accounts/:id/grants` (secret key, `Idempotency-Key`): free minutes from an operator. */
export interface GrantRequest {
  /** Whole minutes, 1–100,000. */
  minutes: number;
  /** Why, for the history and the export (1–200 characters). */
  reason: string;
}

/** The answer to a grant (201) and to a refund (200). */
export interface PurchaseChangeDto {
  purchase: PurchaseDto;
  balance: BalanceDto;
}

export interface PurchaseListDto {
  purchases: PurchaseDto[];
}

export interface PurchaseRequest {
  packageId: string;
}

export interface PurchaseResultDto {
  purchase: PurchaseDto;
  balance: BalanceDto;
}

/**
 * The 202 answer to a purchase that is not paid yet: `requires_action` (the
 * customer must authenticate with `clientSecret`, e.g. Stripe.js
 * `handleNextAction`, then the same request is sent again with the same key)
 * or `pending` (the processor is still working; `clientSecret` is null).
 */
export interface PurchaseActionDto {
  purchase: PurchaseDto;
  clientSecret: string | null;
}

export interface UsageRequest {
  callId: string;
  seconds: number;
  occurredAt?: Iso8601;
}

export interface UsageDto {
  callId: string;
  seconds: number;
  occurredAt: Iso8601;
  fromPlanSeconds: number;
  fromExtra: { purchaseId: string; seconds: number }[];
  overageSeconds: number;
}

/** One call in the usage history: its split, each package part named. */
export interface UsageHistoryItemDto {
  callId: string;
  seconds: number;
  occurredAt: Iso8601;
  fromPlanSeconds: number;
  fromExtra: {
    purchaseId: string;
    /** The package's name (a grant: `Grant`). */
    name: string;
    kind: PurchaseKind;
    /** When that package was bought or granted. */
    purchasedAt: Iso8601;
    seconds: number;
  }[];
  overageSeconds: number;
}

/**
 * `GET /v1/accounts/:id/usage?limit=&cursor=`: calls newest first (in the
 * order the ledger recorded them); `nextCursor` fetches the page after this
 * one, null on the last.
 */
export interface UsagePageDto {
  usage: UsageHistoryItemDto[];
  nextCursor: string | null;
}

export interface UsageResultDto {
  usage: UsageDto;
  balance: BalanceDto;
}

export interface AccountRequest {
  planId: string;
  cycleAnchor?: Iso8601;
  /** The account's Stripe customer (`cus_…`), whose default payment method pays; `null` unlinks it, absent keeps it. */
  stripeCustomerId?: string | null;
}

export interface AccountDto {
  id: string;
  planId: string;
  cycleAnchor: Iso8601;
  stripeCustomerId: string | null;
}

/**
 * What a widget token may do: `buy` (the default) reads its account and buys;
 * `view` only reads (a 403 on purchases and on any other change).
 */
export type TokenScope = 'buy' | 'view';

export interface SessionRequest {
  accountId: string;
  ttlSeconds?: number;
  scope?: TokenScope;
}

export interface SessionDto {
  token: string;
  accountId: string;
  expiresAt: Iso8601;
  scope: TokenScope;
}

export interface RecommendationDto {
  /** True when an upgrade to `nextPlan` is worth suggesting. */
  recommend: boolean;
  currency: string;
  currentPlan: PlanTierDto;
  nextPlan: PlanTierDto | null;
  /** How many cycles were looked at (the current one and those before it). */
  cyclesConsidered: number;
  /** In how many of them top-ups were bought. */
  cyclesWithTopups: number;
  averageTopupSpendMinor: number;
  /** Plan price plus the average top-up spend per cycle. */
  averageMonthlyCostMinor: number;
  /** `averageMonthlyCostMinor − nextPlan.priceMinor` (negative: the upgrade costs more). */
  monthlySavingMinor: number;
  averageUsageSeconds: number;
  /** Whether the next plan's allowance alone would have covered the average use. */
  nextPlanCoversAverage: boolean;
}

/**
 * Auto top-up (`GET/PUT /v1/accounts/:id/auto-topup`): when a usage leaves
 * plan remaining + extra at or below `thresholdMinutes`, and fewer than
 * `monthlyLimit` auto purchases were made in the billing cycle, one purchase
 * of `packageId` is made after the usage is committed. A declined charge
 * pauses it (`status: 'paused'`, `pausedReason` says why); a manual
 * purchase or a PUT resumes it.
 */
export interface AutoTopupRequest {
  enabled: boolean;
  /** Whole minutes, 1–100,000: at or below this many minutes left, a package is bought. */
  thresholdMinutes: number;
  /** The catalog package bought each time. */
  packageId: string;
  /** At most this many auto purchases per billing cycle, 1–31. */
  monthlyLimit: number;
}

export type AutoTopupStatus = 'active' | 'paused';

export interface AutoTopupDto extends AutoTopupRequest {
  status: AutoTopupStatus;
  /** Why it paused (the processor's reason, or that the customer must buy once by hand); only when paused. */
  pausedReason?: string;
  /** Auto purchases made (or under way) in the current billing cycle. */
  cycleCount: number;
}

/** What the host's webhook endpoint receives: `type`, `timestamp` and `data` (Standard Webhooks). */
export type WebhookEventType =
  | 'balance.warning_changed'
  | 'purchase.succeeded'
  | 'purchase.failed'
  | 'purchase.refunded'
  | 'auto_topup.paused';

/** The `data` of each event type; `accountId` is always there. */
export interface WebhookEventData {
  'balance.warning_changed': {
    accountId: string;
    from: WarningLevel;
    to: WarningLevel;
    balance: BalanceDto;
  };
  'purchase.succeeded': { accountId: string; purchase: PurchaseDto; auto: boolean };
  'purchase.failed': {
    accountId: string;
    packageId: string;
    /** The package's name as it was charged for. */
    name: string;
    reason: string;
    auto: boolean;
  };
  'purchase.refunded': { accountId: string; purchase: PurchaseDto };
  'auto_topup.paused': { accountId: string; reason: string; autoTopup: AutoTopupDto };
}

/** One webhook's body, `{type, timestamp, data}`. */
export type WebhookEvent = {
  [T in WebhookEventType]: { type: T; timestamp: Iso8601; data: WebhookEventData[T] };
}[WebhookEventType];

/** `pending`: not delivered yet (retried); `delivered`: a 2xx came back; `failed`: given up after 24 hours. */
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** `GET /v1/webhooks/deliveries?status=` (secret key): the outbox, newest first. */
export interface WebhookDeliveryDto {
  /** The `webhook-id` it is sent with (the same on every retry). */
  id: string;
  type: WebhookEventType;
  accountId: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  createdAt: Iso8601;
  /** When the next attempt is due; null once delivered or failed. */
  nextAttemptAt: Iso8601 | null;
  deliveredAt: Iso8601 | null;
  /** What the last attempt got (an HTTP status or a network error). */
  lastError: string | null;
}

export interface WebhookDeliveryListDto {
  deliveries: WebhookDeliveryDto[];
}

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'account_not_found'
  | 'package_not_found'
  | 'plan_not_found'
  /** 404: no purchase with that id on the account (a refund). */
  | 'purchase_not_found'
  | 'not_found'
  | 'payment_declined'
  /** 402: the account has no payment method to charge (no Stripe customer, or no default card); nothing was charged. */
  | 'payment_method_required'
  /** 502: the payment processor could not be reached; a retry with the same key finds any charge already made. */
  | 'payment_unavailable'
  /** 502: the payment processor refused a refund (its reason in the message); the minutes stay voided, a retry with the same key asks again. */
  | 'refund_failed'
  /** 400: a webhook whose signature does not verify; nothing was applied. */
  | 'invalid_signature'
  | 'conflict'
  /** 409: the gateway holds a charge under the purchase's key for another account or amount. */
  | 'charge_conflict'
  | 'idempotency_key_reused'
  /** 422: a usage dated before its account existed. */
  | 'occurred_before_account'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal_error';

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
  };
}
