import { expect } from '@open-wc/testing';
import type {
  BalanceDto,
  CatalogDto,
  UsageHistoryItemDto,
  UsagePageDto,
} from '../../contract/index.js';
import { ApiError, type ApiClient } from '../../widget/api-client.js';
import { noCalls, splitText, withFirstPage, withNextPage } from '../../widget/calls.js';
import { createFormat } from '../../widget/format.js';
import { en } from '../../widget/i18n.js';
import { TopupStore } from '../../widget/store.js';

/** A call of `seconds`, all from the plan, named `c<n>`. */
const call = (n: number, seconds = 60): UsageHistoryItemDto => ({
  callId: `c${n}`,
  seconds,
  occurredAt: '2026-11-03T10:00:00Z',
  fromPlanSeconds: seconds,
  fromExtra: [],
  overageSeconds: 0,
});
/** Calls `from` down to `to` (newest first), as a page whose cursor goes on (or not). */
const page = (from: number, to: number, nextCursor: string | null = null): UsagePageDto => ({
  usage: Array.from({ length: from - to + 1 }, (_, i) => call(from - i)),
  nextCursor,
});
const ids = (items: readonly UsageHistoryItemDto[] | null) => items?.map((c) => c.callId);

describe('recent calls, pages', () => {
  it('takes a first page as the list when nothing is shown', () => {
    const first = withFirstPage(noCalls, page(45, 26, 'after-26'));
    expect(first.replaced).to.equal(true);
    expect(first.nextCursor).to.equal('after-26');
    expect(ids(first.items)).to.have.length(20);
  });

  it('keeps the calls paged in when the first page read again reaches them', () => {
    const shown = { ...noCalls, items: page(45, 6).usage, nextCursor: 'after-6' };
    // Two new calls: the page reaches call 28.
    const again = withFirstPage(shown, page(47, 28, 'after-28'));
    expect(again.replaced).to.equal(false);
    expect(ids(again.items)).to.deep.equal(ids(page(47, 6).usage));
    expect(again.nextCursor).to.equal('after-6');
  });

  it('starts over when more new calls came than a page holds', () => {
    const shown = { ...noCalls, items: page(45, 6).usage, nextCursor: 'after-6' };
    const again = withFirstPage(shown, page(90, 71, 'after-71'));
    expect(again.replaced).to.equal(true);
    expect(ids(again.items)).to.deep.equal(ids(page(90, 71).usage));
    expect(again.nextCursor).to.equal('after-71');
  });

  it('takes a last first page whole', () => {
    const shown = { ...noCalls, items: page(3, 1).usage };
    const again = withFirstPage(shown, page(4, 1));
    expect(ids(again.items)).to.deep.equal(['c4', 'c3', 'c2', 'c1']);
    expect(again.nextCursor).to.equal(null);
  });

  it('appends the next page without a call twice', () => {
    const shown = { ...noCalls, items: page(45, 26).usage, nextCursor: 'x' };
    // Pages that shifted under new calls repeat some: none is shown twice.
    const next = withNextPage(shown, page(27, 8, 'after-8'));
    expect(ids(next.items)).to.deep.equal(ids(page(45, 8).usage));
    expect(next.nextCursor).to.equal('after-8');
  });
});

describe('splitText', () => {
  const format = createFormat('en-GB', 'USD');
  it('joins plan, each package or grant as drawn, and overage', () => {
    const item: UsageHistoryItemDto = {
      ...call(1, 612),
      fromPlanSeconds: 120,
      fromExtra: [
        {
          purchaseId: 'p1',
          name: 'Medium',
          kind: 'package',
          purchasedAt: '2026-11-03T10:00:00Z',
          seconds: 132,
        },
        {
          purchaseId: 'p2',
          name: 'Grant',
          kind: 'grant',
          purchasedAt: '2026-11-04T10:00:00Z',
          seconds: 300,
        },
      ],
      overageSeconds: 60,
    };
    expect(splitText(en, format, item)).to.equal(
      '10:12 = 2:00 plan + 2:12 Medium (bought 3 Nov) + 5:00 granted (4 Nov) + 1:00 overage',
    );
    expect(
      splitText(en, format, { ...call(2, 7), fromPlanSeconds: 0, overageSeconds: 7 }),
    ).to.equal('0:07 = 0:07 overage');
  });
});

/** A client whose usage pages resolve when the test says so. */
function usageClient() {
  const asked: (string | null | undefined)[] = [];
  const answers: { resolve: (p: UsagePageDto) => void; reject: (e: unknown) => void }[] = [];
  const balance = {
    plan: {},
    extra: { remainingSeconds: 0, activePackages: 0 },
    warning: 'none',
    version: 1,
  } as BalanceDto;
  const client = {
    catalog: async () => ({ currency: 'USD', packages: [], plans: [] }) as CatalogDto,
    balance: async () => balance,
    purchases: async () => ({ purchases: [] }),
    recommendation: async () => {
      throw new Error('none');
    },
    usage: (cursor?: string | null) => {
      asked.push(cursor);
      return new Promise<UsagePageDto>((resolve, reject) => answers.push({ resolve, reject }));
    },
    events: () => new Promise<Response>(() => {}),
    resetToken: () => {},
  } as unknown as ApiClient;
  return { client, asked, answers, balance };
}
const tick = () => new Promise((r) => setTimeout(r));

describe('TopupStore, recent calls and scope', () => {
  it('loads the first page when Recent calls is shown, and each next page once', async () => {
    const { client, asked, answers } = usageClient();
    const store = new TopupStore(client);
    store.openHistory();
    store.showHistoryTab('calls');
    store.showHistoryTab('calls');
    expect(asked).to.deep.equal([undefined]);
    answers[0].resolve(page(45, 26, 'k26'));
    await tick();
    void store.moreCalls();
    void store.moreCalls();
    expect(asked).to.deep.equal([undefined, 'k26']);
    expect(store.snapshot.calls.loadingMore).to.equal(true);
    answers[1].resolve(page(25, 6, 'k6'));
    await tick();
    expect(store.snapshot.calls).to.include({ loadingMore: false, nextCursor: 'k6', error: null });
    expect(store.snapshot.calls.items).to.have.length(40);
  });

  it('drops a next page that arrives after the list was replaced', async () => {
    const { client, answers } = usageClient();
    const store = new TopupStore(client);
    void store.loadCalls();
    answers[0].resolve(page(45, 26, 'k26'));
    await tick();
    void store.moreCalls();
    void store.loadCalls();
    // More than a page of new calls: the list starts over…
    answers[2].resolve(page(90, 71, 'k71'));
    await tick();
    // …and the page after the old list does not follow it.
    answers[1].resolve(page(25, 6, 'k6'));
    await tick();
    expect(ids(store.snapshot.calls.items)).to.deep.equal(ids(page(90, 71).usage));
    expect(store.snapshot.calls).to.include({ nextCursor: 'k71', loadingMore: false });
  });

  it('shows a failed first page, keeps the list when a refresh fails, and shows a failed next page', async () => {
    const { client, answers } = usageClient();
    const errors: string[] = [];
    const store = new TopupStore(client, { error: (e) => errors.push(e.code) });
    void store.loadCalls();
    answers[0].reject(new ApiError(0, 'network', ''));
    await tick();
    expect(store.snapshot.calls).to.include({ items: null });
    expect(store.snapshot.calls.error?.code).to.equal('network');
    void store.loadCalls();
    expect(store.snapshot.calls.error).to.equal(null);
    answers[1].resolve(page(45, 26, 'k26'));
    await tick();
    void store.loadCalls();
    answers[2].reject(new ApiError(500, 'server_error', ''));
    await tick();
    expect(store.snapshot.calls.error).to.equal(null);
    expect(store.snapshot.calls.items).to.have.length(20);
    void store.moreCalls();
    answers[3].reject(new ApiError(500, 'server_error', ''));
    await tick();
    expect(store.snapshot.calls.error?.code).to.equal('server_error');
    expect(store.snapshot.calls).to.include({ loadingMore: false, nextCursor: 'k26' });
    expect(errors).to.deep.equal(['network', 'server_error']);
  });

  it('reads the first page again on a newer live balance while Recent calls is shown', async () => {
    const { client, asked, answers, balance } = usageClient();
    const store = new TopupStore(client);
    await store.load();
    store.liveBalance({ ...balance, version: 2 });
    expect(asked).to.have.length(0);
    store.openHistory();
    store.showHistoryTab('calls');
    answers[0].resolve(page(3, 1));
    await tick();
    store.liveBalance({ ...balance, version: 3 });
    store.liveBalance({ ...balance, version: 3 });
    expect(asked).to.deep.equal([undefined, undefined]);
    store.showHistoryTab('packages');
    store.liveBalance({ ...balance, version: 4 });
    expect(asked).to.have.length(2);
  });

  it('follows the scope of the token in use: view never opens the dialog and closes an idle one', async () => {
    const { client } = usageClient();
    const store = new TopupStore(client);
    const claims = (scope: string) => `h.${btoa(JSON.stringify({ scope }))}.s`;
    await store.load();
    expect(store.snapshot.scope).to.equal('buy');
    store.openDialog();
    store.useToken(claims('view'));
    expect(store.snapshot).to.include({ scope: 'view', dialogOpen: false });
    store.openDialog();
    expect(store.snapshot.dialogOpen).to.equal(false);
    store.useToken(claims('buy'));
    store.openDialog();
    expect(store.snapshot).to.include({ scope: 'buy', dialogOpen: true });
  });
});
