import { delay, http, type HttpHandler } from 'msw';
import { createMockApi, type MockApi, type MockApiOptions } from '../server/testing/mock-api.js';

export type { MockApi, MockApiOptions, MockAccountSeed } from '../server/testing/mock-api.js';

export interface MinuteTopupMocksOptions extends MockApiOptions {
  /** The widget's `api-base` (without `/v1`), e.g. `https://api.example.com` or `/api`. */
  apiBase: string;
  /** Latency added to every answer, to see loading and pending states. */
  latencyMs?: number;
}

export interface MinuteTopupMocks {
  /** msw handlers answering `${apiBase}/v1/*`: give them to `setupWorker()` or `server.use()`. */
  handlers: HttpHandler[];
  /** The real API over an in-memory ledger, with helpers to set the scene (`recordUsage`, `setDeclining`, …). */
  api: MockApi;
  /** Answers a request sent to `${apiBase}/v1/…` (what the handlers do, without msw). */
  fetch(request: Request): Promise<Response>;
  /** A widget token for an account, for the `token` attribute. */
  token(accountId: string, ttlSeconds?: number): Promise<string>;
}

/**
 * msw handlers that emulate the minute-topup API by running the real Hono app
 * in the page over an in-memory ledger, so a host can test its pages with the
 * widget and no server.
 *
 * @example
 * import { setupWorker } from 'msw/browser';
 * import { createMinuteTopupMocks } from 'minute-topup/dist/mocks.js';
 * const mocks = await createMinuteTopupMocks({ apiBase: '/api', accounts: [{ id: 'acme', usedSeconds: 27_000 }] });
 * await setupWorker(...mocks.handlers).start();
 * widget.token = await mocks.token('acme');
 */
export async function createMinuteTopupMocks(
  options: MinuteTopupMocksOptions,
): Promise<MinuteTopupMocks> {
  const { apiBase, latencyMs = 0, ...rest } = options;
  const api = await createMockApi(rest);
  const base = new URL(apiBase.replace(/\/$/, ''), globalThis.location?.href);
  const prefix = base.pathname.replace(/\/$/, '');
  const answer = (request: Request) => {
    // The API routes from `/v1`: drop the path the host mounts it under.
    const url = new URL(request.url);
    url.pathname = url.pathname.slice(prefix.length);
    return api.fetch(prefix ? new Request(url, request) : request);
  };
  return {
    api,
    fetch: answer,
    handlers: [
      http.all(`${base.href.replace(/\/$/, '')}/v1/*`, async ({ request }) => {
        if (latencyMs) await delay(latencyMs);
        return answer(request);
      }),
    ],
    token: (accountId, ttlSeconds) => api.mintToken(accountId, ttlSeconds),
  };
}
