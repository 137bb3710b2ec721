import type {
  AutoTopupDto,
  AutoTopupRequest,
  BalanceDto,
  CatalogDto,
  ErrorBody,
  PurchaseActionDto,
  PurchaseListDto,
  PurchaseResultDto,
  RecommendationDto,
  UsagePageDto,
} from '../contract/index.js';
import { tokenScope } from './scope.js';

/**
 * Codes the client adds to the API's own `ErrorCode`s: `network` when the API
 * could not be reached, `server_error` for a 5xx without an error body,
 * `no_token` when no token could be had (`fetchToken` gave none or failed; the
 * request was not sent), and `unexpected` for anything else that was thrown.
 */
export type ClientErrorCode =
  ErrorBody['error']['code'] | 'network' | 'server_error' | 'no_token' | 'unexpected';

/** Any failed call: the API's `{error: {code, message}}` plus the HTTP status (0: no response, or not sent). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  /** Base URL without `/v1`, e.g. `https://api.example.com`. */
  base: string;
  accountId: string;
  /** The token the host gave (attribute), read at the first call. */
  token?: () => string | undefined;
  /**
   * Called for the first token when there is none, and once again after a 401.
   * Without `token` and `fetchToken`, account calls fail with `no_token` unsent.
   */
  fetchToken?: () => Promise<string>;
  /** Told of each token as it is first sent (its scope decides what the widget offers). */
  onToken?: (token: string) => void;
  fetch?: typeof fetch;
}

/**
 * A typed client for the minute-topup API. A 401 triggers one `fetchToken()`
 * (shared by every request that failed with the same token) and one retry.
 * A change (PUT, POST) with a token of scope `view` is not sent: it fails
 * with `forbidden` (status 0), as the API would refuse it.
 *
 * @example
 * const api = createApiClient({ base: 'https://api.example.com', accountId: 'acc_1', fetchToken });
 * const balance = await api.balance();
 */
export function createApiClient(options: ApiClientOptions) {
  let tokenPromise: Promise<string> | undefined;
  let sentToken: string | undefined;
  const noToken = (why: string) => new ApiError(0, 'no_token', why);
  /** The host's `fetchToken`; anything but a non-empty string is `no_token`. */
  const fetchHostToken = () =>
    new Promise<unknown>((resolve) => resolve(options.fetchToken!())).then(
      (token) => {
        if (typeof token === 'string' && token) return token;
        throw noToken('fetchToken returned no token');
      },
      (e: unknown) => {
        throw noToken(`fetchToken failed: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  const initialToken = () => {
    const given = options.token?.();
    return (tokenPromise ??= given
      ? Promise.resolve(given)
      : options.fetchToken
        ? fetchHostToken()
        : Promise.reject(noToken('no token: set the token attribute or fetchToken')));
  };

  /** Sends a request with the token (one fresh token and one retry after a 401): the response as it is. */
  async function send(path: string, init: RequestInit = {}, auth = true): Promise<Response> {
    let requestToken = auth ? initialToken() : undefined;
    for (let retried = false; ; retried = true) {
      const headers = new Headers(init.headers);
      if (init.body) headers.set('content-type', 'application/json');
      if (requestToken) {
        // Never sent without its token: the API would only answer 401.
        const token = await requestToken.catch((e: unknown) => {
          // Not kept: the next call (Retry, a new load) asks again.
          if (tokenPromise === requestToken) tokenPromise = undefined;
          throw e;
        });
        headers.set('authorization', `Bearer ${token}`);
        if (token !== sentToken) options.onToken?.((sentToken = token));
        // A change (a fresh token after a 401 among them) is not sent with a
        // token that may only view: the API would refuse it (403).
        if (init.method && tokenScope(token) === 'view')
          throw new ApiError(0, 'forbidden', 'The token may only view.');
      }
      let res: Response;
      try {
        res = await (options.fetch ?? fetch)(`${options.base.replace(/\/$/, '')}/v1${path}`, {
          ...init,
          headers,
        });
      } catch {
        throw new ApiError(0, 'network', 'The API could not be reached.');
      }
      if (res.status === 401 && requestToken && options.fetchToken && !retried) {
        // Only the first request to see the stale token asks for a new one.
        if (tokenPromise === requestToken || !tokenPromise) tokenPromise = fetchHostToken();
        requestToken = tokenPromise;
        continue;
      }
      return res;
    }
  }

  /** The API's error body (or the status alone) as an `ApiError`. */
  const failure = async (res: Response) => {
    const body: unknown = await res.json().catch(() => undefined);
    const error = (body as ErrorBody | undefined)?.error;
    return new ApiError(
      res.status,
      error?.code ?? (res.status >= 500 ? 'server_error' : 'invalid_request'),
      error?.message ?? res.statusText,
    );
  };

  async function request<T>(path: string, init: RequestInit = {}, auth = true): Promise<T> {
    const res = await send(path, init, auth);
    if (!res.ok) throw await failure(res);
    return (await res.json().catch(() => undefined)) as T;
  }

  const account = `/accounts/${encodeURIComponent(options.accountId)}`;
  return {
    catalog: () => request<CatalogDto>('/catalog', {}, false),
    balance: () => request<BalanceDto>(`${account}/balance`),
    purchases: () => request<PurchaseListDto>(`${account}/purchases`),
    recommendation: () => request<RecommendationDto>(`${account}/recommendation`),
    /** A page of calls with their split, newest first; `cursor`: the last page's `nextCursor`. */
    usage: (cursor?: string | null) =>
      request<UsagePageDto>(
        `${account}/usage${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
    /** The auto top-up setting (the defaults while it was never set). */
    autoTopup: () => request<AutoTopupDto>(`${account}/auto-topup`),
    /** Replaces the auto top-up setting (and resumes it when paused): the setting after it. */
    setAutoTopup: (setting: AutoTopupRequest) =>
      request<AutoTopupDto>(`${account}/auto-topup`, {
        method: 'PUT',
        body: JSON.stringify(setting),
      }),
    /**
     * One idempotency key per confirmation: the same key again never charges
     * twice. Resolves with the purchase and the balance once paid (201), or
     * with `{purchase, clientSecret}` while the payment waits (202: the bank
     * wants the customer to authenticate, or the processor is still working);
     * `isPurchaseAction` tells them apart.
     */
    purchase: (packageId: string, idempotencyKey: string) =>
      request<PurchaseResultDto | PurchaseActionDto>(`${account}/purchases`, {
        method: 'POST',
        headers: { 'idempotency-key': idempotencyKey },
        body: JSON.stringify({ packageId }),
      }),
    /**
     * Opens the live balance stream (`text/event-stream`) past `lastEventId`
     * (the version shown). Resolves with the response once its headers
     * arrive, its body still streaming; rejects as the other calls do (a 401
     * after one fresh token, a 5xx, `network` — also when `signal` aborts it).
     */
    events: async (lastEventId: string | undefined, signal: AbortSignal) => {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const res = await send(`${account}/events`, { headers, signal });
      if (res.ok && res.body) return res;
      throw await failure(res);
    },
    /** Forget the cached token (the host set a new one). */
    resetToken: () => {
      tokenPromise = undefined;
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** Whether the answer to a purchase is a payment still waiting (202), not a paid purchase (201). */
export const isPurchaseAction = (
  answer: PurchaseResultDto | PurchaseActionDto,
): answer is PurchaseActionDto => 'clientSecret' in answer;
