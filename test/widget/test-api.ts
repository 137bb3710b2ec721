import { delay, http, HttpResponse } from 'msw';
import type {
  AutoTopupDto,
  AutoTopupRequest,
  BalanceDto,
  PurchaseDto,
  PurchaseListDto,
  RecommendationDto,
  TokenScope,
} from '../../contract/index.js';
import { defaultCatalog, type PackageDef } from '../../server/domain/catalog.js';
import { createMinuteTopupMocks, type MockAccountSeed } from '../../mocks/index.js';

/** A request the widget sent: `path` after `/v1`, e.g. `/accounts/acc_1/purchases`. */
export interface LoggedRequest {
  method: string;
  path: string;
  key: string | null;
  auth: string | null;
  /** `Last-Event-ID` (live balance streams). */
  lastEventId: string | null;
}

/**
 * Requests held back (see `TestApi.hold`): `before` they reach the API, or
 * `after` it answered, their answer kept until `release()`.
 */
export interface Hold {
  /** Requests held now. */
  readonly waiting: number;
  release(): void;
}

/** Where the widget under test looks for its API (answered by msw, never reached). */
export const API = `${location.origin}/test-api`;
export const ACCOUNT = 'acc_1';

export interface TestApiOptions {
  currency?: string;
  /** Packages bought before the test, oldest first. */
  packages?: string[];
  /** Minutes granted before the test, after the packages. */
  grants?: { minutes: number; reason: string }[];
  /** Minutes of calls made this cycle, as one call (plan first, then packages, then overage). */
  usedMinutes?: number;
  /** Calls made after `usedMinutes`, oldest first: the seconds of each. */
  calls?: number[];
  /** The scope of the widget's token (default `buy`). */
  scope?: TokenScope;
  /** Replaces the API's recommendation (merged into a telling default). */
  recommendation?: Partial<RecommendationDto>;
  /** Replaces the catalog's packages. */
  catalogPackages?: PackageDef[];
  /** Auto top-up, set after the calls (which therefore never trigger it). */
  autoTopup?: AutoTopupRequest;
  /**
   * Auto top-up paused before the test: a one-minute call, whose auto
   * purchase is declined (the card is approved again afterwards). The call
   * must leave the balance under `autoTopup`'s threshold.
   */
  autoTopupPaused?: boolean;
}

/**
 * The real API over an in-memory ledger (`dist/mocks.js`'s source), with
 * switches for what the widget must survive: `delayMs`, `status` (every
 * account call answers it), `offline`, `decline`, `failing` (requests like
 * `GET /purchases` answer 500), `loseAnswer` (a POST reaches the API, is
 * carried out, and its answer is lost: a network error or the given status),
 * `requiresAction` (purchases wait for the customer's bank: 202), `script`
 * (answers of its own for states the in-memory API cannot produce), `hold`
 * (requests kept waiting until released); and a log of every request.
 */
export async function testApi(o: TestApiOptions = {}) {
  const seed: MockAccountSeed = {
    id: ACCOUNT,
    packages: o.packages,
    grants: o.grants,
    usedSeconds: (o.usedMinutes ?? 0) * 60,
    calls: o.calls,
    autoTopup: o.autoTopup,
  };
  const mocks = await createMinuteTopupMocks({
    apiBase: API,
    catalog: {
      ...defaultCatalog,
      currency: o.currency ?? 'USD',
      packages: o.catalogPackages ?? defaultCatalog.packages,
    },
    accounts: [seed],
  });
  const real = mocks.api;
  if (o.autoTopupPaused) {
    real.setDeclining(ACCOUNT);
    await real.recordUsage(ACCOUNT, 60);
    await real.autoTopupsSettled();
    real.setDeclining(ACCOUNT, false);
  }
  const seeded = real.chargeCount;
  const recommendation = o.recommendation && {
    recommend: true,
    currency: o.currency ?? 'USD',
    currentPlan: defaultCatalog.plans[0],
    nextPlan: defaultCatalog.plans[1],
    cyclesConsidered: 3,
    cyclesWithTopups: 3,
    averageTopupSpendMinor: 10500,
    averageMonthlyCostMinor: 15400,
    monthlySavingMinor: 2500,
    averageUsageSeconds: 1200 * 60,
    nextPlanCoversAverage: true,
    ...o.recommendation,
  };
  const token = await real.mintToken(ACCOUNT, undefined, o.scope);
  const holds: { route: string; when: 'before' | 'after'; gate: Promise<void>; held: number }[] =
    [];
  /** Waits while a hold of `route` at `when` stands. */
  const held = async (route: string, when: 'before' | 'after') => {
    for (const hold of holds.filter((h) => h.route === route && h.when === when)) {
      hold.held++;
      await hold.gate.finally(() => hold.held--);
    }
  };
  /** The stream as it is, counted in `streams` while it runs (msw passes the page's cancel on). */
  const counted = (res: Response, body: ReadableStream<Uint8Array>) => {
    const reader = body.getReader();
    let open = true;
    const closed = (ended: boolean) => {
      if (!open) return;
      open = false;
      api.streams--;
      if (ended) api.streamsEnded++;
    };
    api.streams++;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          closed(true);
          controller.close();
        } else controller.enqueue(value);
      },
      cancel(reason) {
        closed(false);
        return reader.cancel(reason);
      },
    });
    return new Response(stream, res);
  };
  const api = {
    real,
    token,
    delayMs: 0,
    status: 0,
    offline: false,
    /** `METHOD /last-segment` (e.g. `GET /purchases`) of requests that answer 500 without reaching the API. */
    failing: [] as string[],
    loseAnswer: false as false | 'network' | number,
    inFlight: 0,
    maxInFlight: 0,
    requests: [] as LoggedRequest[],
    /** Live balance streams the API is writing now (answered, neither ended nor cancelled by the page). */
    streams: 0,
    /** Live balance streams the API ended itself (the token expired). */
    streamsEnded: 0,
    /**
     * Answers a request in place of the API when it returns a response (a 202
     * `pending`, a 502 `payment_unavailable`…); `undefined` lets the API answer.
     * Runs after `delayMs`, `offline`, `failing` and `status`.
     */
    script: undefined as undefined | ((request: LoggedRequest) => Response | undefined),
    /**
     * Holds the requests like `route` (`PUT /auto-topup`) sent from now until
     * released: `before` they reach the API (the default), or `after` it
     * answered (the answer is what the API said when it was asked).
     */
    hold(route: string, when: 'before' | 'after' = 'before'): Hold {
      let open!: () => void;
      const hold = { route, when, gate: new Promise<void>((r) => (open = r)), held: 0 };
      holds.push(hold);
      return {
        get waiting() {
          return hold.held;
        },
        release() {
          holds.splice(holds.indexOf(hold), 1);
          open();
        },
      };
    },
    /** What the API answers the widget's token for `GET /v1/accounts/<ACCOUNT>${path}` now. */
    async get<T>(path: string): Promise<T> {
      const url = `${API}/v1/accounts/${ACCOUNT}${path}`;
      const res = await mocks.fetch(
        new Request(url, { headers: { authorization: `Bearer ${token}` } }),
      );
      return (await res.json()) as T;
    },
    /** The balance as the API reports it now. */
    balance: (): Promise<BalanceDto> => api.get('/balance'),
    /** The auto top-up setting as the API reports it now. */
    autoTopup: (): Promise<AutoTopupDto> => api.get('/auto-topup'),
    /** The packages as the API lists them now, newest first. */
    purchases: async (): Promise<PurchaseDto[]> =>
      (await api.get<PurchaseListDto>('/purchases')).purchases,
    set decline(on: boolean) {
      real.setDeclining(ACCOUNT, on);
    },
    /** Purchases wait for the customer's bank (202 `requires_action`) until `real.authenticate`. */
    set requiresAction(on: boolean) {
      real.setRequiresAction(ACCOUNT, on);
    },
    /** Charges made during the test (repeats of a key excluded). */
    get charges() {
      return real.chargeCount - seeded;
    },
    handlers: [
      http.all(`${API}/v1/*`, async ({ request }): Promise<Response> => {
        const path = new URL(request.url).pathname.replace(/^\/test-api\/v1/, '');
        const logged: LoggedRequest = {
          method: request.method,
          path,
          key: request.headers.get('idempotency-key'),
          auth: request.headers.get('authorization'),
          lastEventId: request.headers.get('last-event-id'),
        };
        api.requests.push(logged);
        api.maxInFlight = Math.max(api.maxInFlight, ++api.inFlight);
        try {
          if (api.delayMs) await delay(api.delayMs);
          if (api.offline) return HttpResponse.error();
          const failing = (f: string) =>
            f === `${request.method} ${path.slice(path.lastIndexOf('/'))}`;
          if (api.failing.some(failing)) {
            return HttpResponse.json(
              { error: { code: 'internal_error', message: 'Boom' } },
              { status: 500 },
            );
          }
          if (api.status && path.startsWith('/accounts/')) {
            return HttpResponse.json(
              { error: { code: 'internal_error', message: 'Boom' } },
              { status: api.status },
            );
          }
          const scripted = api.script?.(logged);
          if (scripted) return scripted;
          const route = `${request.method} ${path.slice(path.lastIndexOf('/'))}`;
          await held(route, 'before');
          const res = await mocks.fetch(request);
          await held(route, 'after');
          if (api.loseAnswer && request.method === 'POST') {
            return api.loseAnswer === 'network'
              ? HttpResponse.error()
              : new HttpResponse(null, { status: api.loseAnswer });
          }
          if (recommendation && res.ok && path.endsWith('/recommendation'))
            return HttpResponse.json(recommendation);
          if (res.ok && res.body && path.endsWith('/events')) return counted(res, res.body);
          return res;
        } finally {
          api.inFlight--;
        }
      }),
    ],
  };
  return api;
}

export type TestApi = Awaited<ReturnType<typeof testApi>>;
