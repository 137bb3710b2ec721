import type {
  BalanceDto,
  CatalogDto,
  ErrorBody,
  PurchaseListDto,
  PurchaseResultDto,
  RecommendationDto,
} from '../server/contract.js';

/**
 * Codes the client adds to the API's own `ErrorCode`s: `network` when the API
 * could not be reached, `server_error` for a 5xx without an error body.
 */
export type ClientErrorCode = ErrorBody['error']['code'] | 'network' | 'server_error';

/** Any failed call: the API's `{error: {code, message}}` plus the HTTP status (0: no response). */
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
  /** Called for the first token when there is none, and once again after a 401. */
  fetchToken?: () => Promise<string>;
  fetch?: typeof fetch;
}

/**
 * A typed client for the minute-topup API. A 401 triggers one `fetchToken()`
 * (shared by every request that failed with the same token) and one retry.
 *
 * @example
 * const api = createApiClient({ base: 'https://api.example.com', accountId: 'acc_1', fetchToken });
 * const balance = await api.balance();
 */
export function createApiClient(o: ApiClientOptions) {
  let tokenP: Promise<string | undefined> | undefined;
  const initialToken = () =>
    (tokenP ??= o.token?.()
      ? Promise.resolve(o.token())
      : (o.fetchToken?.() ?? Promise.resolve(undefined)));

  async function request<T>(path: string, init: RequestInit = {}, auth = true): Promise<T> {
    let used = auth ? initialToken() : undefined;
    for (let retried = false; ; retried = true) {
      const headers = new Headers(init.headers);
      if (init.body) headers.set('content-type', 'application/json');
      const token = await used?.catch(() => undefined);
      if (token) headers.set('authorization', `Bearer ${token}`);
      let res: Response;
      try {
        res = await (o.fetch ?? fetch)(`${o.base.replace(/\/$/, '')}/v1${path}`, {
          ...init,
          headers,
        });
      } catch {
        throw new ApiError(0, 'network', 'The API could not be reached.');
      }
      if (res.status === 401 && used && o.fetchToken && !retried) {
        // Only the first request to see the stale token asks for a new one.
        if (tokenP === used) tokenP = o.fetchToken();
        used = tokenP;
        continue;
      }
      const body = await res.json().catch(() => undefined);
      if (res.ok) return body as T;
      const error = (body as ErrorBody | undefined)?.error;
      throw new ApiError(
        res.status,
        error?.code ?? (res.status >= 500 ? 'server_error' : 'invalid_request'),
        error?.message ?? res.statusText,
      );
    }
  }

  const account = `/accounts/${encodeURIComponent(o.accountId)}`;
  return {
    catalog: () => request<CatalogDto>('/catalog', {}, false),
    balance: () => request<BalanceDto>(`${account}/balance`),
    purchases: () => request<PurchaseListDto>(`${account}/purchases`),
    recommendation: () => request<RecommendationDto>(`${account}/recommendation`),
    /** One idempotency key per confirmation: the same key again never charges twice. */
    purchase: (packageId: string, idempotencyKey: string) =>
      request<PurchaseResultDto>(`${account}/purchases`, {
        method: 'POST',
        headers: { 'idempotency-key': idempotencyKey },
        body: JSON.stringify({ packageId }),
      }),
    /** Forget the cached token (the host set a new one). */
    resetToken: () => {
      tokenP = undefined;
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
