import type { HttpHandler } from 'msw';
import { createMockApi } from '../server/testing/mock-api.js';
import type { MockApi, MockApiOptions } from '../server/testing/mock-api-types.js';

export type * from '../server/testing/mock-api-types.js';

export interface MinuteTopupMocksOptions extends MockApiOptions {
  /**
   * The widget's `api-base` (without `/v1`), e.g. `https://api.example.com` or
   * `/api`. A path is read against the page's origin; in Node, where there is
   * no page, it matches that path on any origin.
   */
  apiBase: string;
  /** Latency added to every answer of the handlers, to see loading and pending states. */
  latencyMs?: number;
}

export interface MinuteTopupMocks {
  /**
   * msw handlers answering `${apiBase}/v1/*`: give them to `setupWorker()` or
   * `setupServer()`. Reading them without msw installed throws; `fetch` needs no msw.
   */
  readonly handlers: HttpHandler[];
  /** The real API over an in-memory ledger, with helpers to set the scene (`recordUsage`, `setDeclining`, …). */
  api: MockApi;
  /**
   * Answers a request sent to `${apiBase}/v1/…`, as the handlers do, without
   * msw: for a test runner's own request interception (Playwright's `page.route`).
   */
  fetch(request: Request): Promise<Response>;
  /** A widget token for an account, for the `token` attribute. */
  token(accountId: string, ttlSeconds?: number): Promise<string>;
}

/**
 * msw, when the host has it: an optional peer dependency, needed by the
 * handlers only — so a failure to load it is kept for them to report.
 */
async function loadMsw(): Promise<typeof import('msw') | { failed: unknown }> {
  try {
    return await import('msw');
  } catch (failed) {
    return { failed };
  }
}

function mswMissing(failed: unknown): Error {
  const code = (failed as { code?: unknown } | null)?.code;
  const text = String((failed as Error | null)?.message ?? failed);
  const absent =
    code === 'ERR_MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Failed to resolve module specifier/.test(text);
  return new Error(
    absent
      ? 'minute-topup/mocks: the handlers need msw (npm install --save-dev msw); mocks.fetch works without it.'
      : `minute-topup/mocks: msw could not be loaded (${text}); mocks.fetch works without it.`,
    { cause: failed },
  );
}

/**
 * The minute-topup API emulated by running the real Hono app wherever the
 * test runs (the page, Node) over an in-memory ledger, so a host can test its
 * pages with the widget and no server: as msw handlers, or as a `fetch`.
 *
 * @example
 * import { setupWorker } from 'msw/browser';
 * import { createMinuteTopupMocks } from 'minute-topup/mocks';
 * const mocks = await createMinuteTopupMocks({ apiBase: '/api', accounts: [{ id: 'acme', usedSeconds: 27_000 }] });
 * await setupWorker(...mocks.handlers).start();
 * widget.token = await mocks.token('acme');
 */
export async function createMinuteTopupMocks(
  options: MinuteTopupMocksOptions,
): Promise<MinuteTopupMocks> {
  const { apiBase, latencyMs = 0, ...rest } = options;
  const [api, msw] = await Promise.all([createMockApi(rest), loadMsw()]);
  const page = globalThis.location?.href;
  const trimmed = apiBase.replace(/\/$/, '');
  const base =
    page || /^[a-z][a-z\d+.-]*:/i.test(trimmed) ? new URL(trimmed || '/', page) : undefined;
  // The path the host mounts the API under: '' or '/api' (a leading slash, none at the end).
  const prefix = `/${(base?.pathname ?? trimmed).replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
  // msw's pattern: the full URL, or (in Node, for a path) that path on any origin.
  const pattern = `${base ? `${base.origin}${prefix}` : `*${prefix}`}/v1/*`;
  const answer = (request: Request) => {
    // The API routes from `/v1`: drop the path the host mounts it under.
    if (!prefix) return api.fetch(request);
    const url = new URL(request.url);
    const at = url.pathname.indexOf(`${prefix}/v1/`);
    if (at >= 0) url.pathname = url.pathname.slice(at + prefix.length);
    return api.fetch(new Request(url, request));
  };
  const handlers =
    'http' in msw
      ? [
          msw.http.all(pattern, async ({ request }) => {
            if (latencyMs) await msw.delay(latencyMs);
            return answer(request);
          }),
        ]
      : undefined;
  return {
    api,
    fetch: answer,
    get handlers() {
      if (!handlers) throw mswMissing((msw as { failed: unknown }).failed);
      return handlers;
    },
    token: (accountId, ttlSeconds) => api.mintToken(accountId, ttlSeconds),
  };
}
