import { expect } from '@open-wc/testing';
import type { BalanceDto, CatalogDto, PurchaseResultDto } from '../../contract/index.js';
import { ApiError, type ApiClient } from '../../widget/api-client.js';
import { TopupStore, type Snapshot } from '../../widget/store.js';

const balance = {
  plan: {},
  extra: { remainingSeconds: 0, activePackages: 0 },
  warning: 'none',
} as BalanceDto;
const catalog = {
  currency: 'USD',
  plans: [],
  packages: [
    { id: 'small', popular: false },
    { id: 'medium', popular: true },
  ],
} as unknown as CatalogDto;

/** A client whose purchase resolves when the test says so. */
function stubClient() {
  const calls: [string, string][] = [];
  let settle: (r: PurchaseResultDto) => void = () => {};
  let refuse: (e: unknown) => void = () => {};
  const client = {
    catalog: async () => catalog,
    balance: async () => balance,
    purchases: async () => ({ purchases: [] }),
    recommendation: async () => {
      throw new Error('none');
    },
    purchase: (id: string, key: string) => {
      calls.push([id, key]);
      return new Promise<PurchaseResultDto>((r, j) => ((settle = r), (refuse = j)));
    },
    resetToken: () => {},
  } as ApiClient;
  return {
    client,
    calls,
    settle: (r: PurchaseResultDto) => settle(r),
    refuse: (e: unknown) => refuse(e),
  };
}

describe('TopupStore (no DOM)', () => {
  it('publishes a new frozen snapshot on every change', async () => {
    const { client } = stubClient();
    const store = new TopupStore(client);
    const seen: Snapshot[] = [];
    store.subscribe((s) => seen.push(s));
    await store.load();
    store.openDialog();
    expect(seen.map((s) => s.status)).to.deep.equal(['loading', 'ready', 'ready']);
    expect(new Set(seen).size).to.equal(3);
    expect(Object.isFrozen(store.snapshot)).to.equal(true);
    expect(store.snapshot.selectedId).to.equal('medium');
    expect(seen[1].dialogOpen).to.equal(false);
  });

  it('confirms once while a purchase is pending, with one key per confirmation', async () => {
    const { client, calls, settle } = stubClient();
    let n = 0;
    const store = new TopupStore(client, {}, () => `key-${++n}`);
    await store.load();
    store.openDialog();
    void store.confirm();
    void store.confirm();
    expect(calls).to.deep.equal([['medium', 'key-1']]);
    const purchase = { id: 'p1' } as PurchaseResultDto['purchase'];
    settle({ purchase, balance });
    await new Promise((r) => setTimeout(r));
    expect(store.snapshot.dialogOpen).to.equal(false);
    expect(store.snapshot.purchases).to.deep.equal([purchase]);
    store.openDialog();
    void store.confirm();
    expect(calls[1]).to.deep.equal(['medium', 'key-2']);
  });

  it('keeps the key and package of a purchase without a definite answer until one comes', async () => {
    const { client, calls, refuse } = stubClient();
    let n = 0;
    const store = new TopupStore(client, {}, () => `key-${++n}`);
    await store.load();
    store.openDialog();
    store.select('small');
    const tick = () => new Promise((r) => setTimeout(r));
    for (const e of [new ApiError(0, 'network', ''), new ApiError(503, 'server_error', '')]) {
      void store.confirm();
      refuse(e);
      await tick();
      expect(store.snapshot.buying).to.include({ kind: 'failed', unconfirmed: true });
      store.closeDialog();
      store.openDialog();
      store.select('medium');
      expect(store.snapshot.selectedId).to.equal('small');
      expect(store.snapshot.buying.kind).to.equal('failed');
    }
    // A definite refusal settles it: the package may change, with a new key.
    void store.confirm();
    refuse(new ApiError(402, 'payment_declined', ''));
    await tick();
    expect(store.snapshot.buying).to.include({ kind: 'failed', unconfirmed: false });
    store.select('medium');
    void store.confirm();
    expect(calls.map((c) => c.join(' '))).to.deep.equal([
      'small key-1',
      'small key-1',
      'small key-1',
      'medium key-2',
    ]);
  });

  it('keeps a pending purchase across closing and reopening the dialog', async () => {
    const { client, calls, settle } = stubClient();
    let n = 0;
    const store = new TopupStore(client, {}, () => `key-${++n}`);
    await store.load();
    store.openDialog();
    store.select('small');
    void store.confirm();
    store.closeDialog();
    store.openDialog();
    expect(store.snapshot.selectedId).to.equal('small');
    void store.confirm();
    expect(calls).to.deep.equal([['small', 'key-1']]);
    settle({ purchase: { id: 'p1' } as PurchaseResultDto['purchase'], balance });
    await new Promise((r) => setTimeout(r));
    expect(store.snapshot.buying.kind).to.equal('idle');
  });

  it('ends any unexpected throw of a purchase in an error, never a rejection', async () => {
    const { client, calls } = stubClient();
    const errors: unknown[] = [];
    let fail = true;
    const store = new TopupStore(client, { error: (e) => errors.push(e) }, () => {
      if (fail) throw new Error('no entropy');
      return 'key-1';
    });
    await store.load();
    store.openDialog();
    await store.confirm();
    const { buying } = store.snapshot;
    expect(store.snapshot.dialogOpen).to.equal(true);
    expect(buying).to.include({ kind: 'failed', unconfirmed: false, key: undefined });
    const error = buying.kind === 'failed' && buying.error;
    expect(error).to.deep.equal({ code: 'unexpected', message: 'no entropy' });
    expect(errors).to.deep.equal([error]);
    expect(calls).to.deep.equal([]);
    fail = false;
    void store.confirm();
    expect(calls).to.deep.equal([['medium', 'key-1']]);
  });

  it('drops the key of a refused purchase when the dialog closes', async () => {
    const { client, calls, refuse } = stubClient();
    let n = 0;
    const store = new TopupStore(client, {}, () => `key-${++n}`);
    await store.load();
    store.openDialog();
    void store.confirm();
    refuse(new ApiError(402, 'payment_declined', ''));
    await new Promise((r) => setTimeout(r));
    store.closeDialog();
    expect(store.snapshot.buying).to.deep.equal({ kind: 'idle' });
    store.openDialog();
    void store.confirm();
    expect(store.snapshot.buying).to.deep.equal({
      kind: 'pending',
      packageId: 'medium',
      key: 'key-2',
      unconfirmed: false,
    });
    expect(calls.map((c) => c[1])).to.deep.equal(['key-1', 'key-2']);
  });
});
