import { expect } from '@open-wc/testing';
import type {
  BalanceDto,
  CatalogDto,
  PurchaseActionDto,
  PurchaseDto,
  PurchaseResultDto,
} from '../../contract/index.js';
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
  let settle: (r: PurchaseResultDto | PurchaseActionDto) => void = () => {};
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
      return new Promise<PurchaseResultDto | PurchaseActionDto>(
        (r, j) => ((settle = r), (refuse = j)),
      );
    },
    events: () => new Promise<Response>(() => {}),
    usage: async () => ({ usage: [], nextCursor: null }),
    // An API without auto top-up: the card shows no row.
    autoTopup: async () => {
      throw new Error('none');
    },
    setAutoTopup: async () => {
      throw new Error('none');
    },
    resetToken: () => {},
  } as ApiClient;
  return {
    client,
    calls,
    /** Answers the latest purchase request. */
    settle: (r: PurchaseResultDto | PurchaseActionDto) => settle(r),
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
      bank: false,
    });
    expect(calls.map((c) => c[1])).to.deep.equal(['key-1', 'key-2']);
  });

  describe('a payment that waits (202)', () => {
    const tick = () => new Promise((r) => setTimeout(r));
    const waiting = (status: 'requires_action' | 'pending'): PurchaseActionDto => ({
      purchase: { id: 'p1', packageId: 'medium', status } as PurchaseDto,
      clientSecret: status === 'requires_action' ? 'pi_1_secret' : null,
    });
    const paid = { purchase: { id: 'p1', status: 'active' } as PurchaseDto, balance };

    /** A loaded store with the dialog open, keys `key-1`, `key-2`…, and what it told the host. */
    async function buying(authenticate?: (clientSecret: string) => Promise<void>) {
      const stub = stubClient();
      const told = {
        purchases: 0,
        authenticationRequired: [] as unknown[],
        errors: [] as unknown[],
      };
      let n = 0;
      const store = new TopupStore(
        stub.client,
        {
          purchase: () => told.purchases++,
          error: (e) => told.errors.push(e),
          authenticationRequired: (detail) => told.authenticationRequired.push(detail),
          authenticate,
        },
        () => `key-${++n}`,
      );
      await store.load();
      store.openDialog();
      return { ...stub, store, told };
    }

    it("runs the host's authenticate with the client secret, then asks again under the same key", async () => {
      let done: () => void = () => {};
      const secrets: string[] = [];
      const { store, calls, settle, told } = await buying((clientSecret) => {
        secrets.push(clientSecret);
        return new Promise<void>((r) => (done = r));
      });
      void store.confirm();
      settle(waiting('requires_action'));
      await tick();
      expect(secrets).to.deep.equal(['pi_1_secret']);
      expect(store.snapshot.buying).to.deep.include({ kind: 'pending', key: 'key-1', bank: true });
      done();
      await tick();
      expect(calls).to.deep.equal([
        ['medium', 'key-1'],
        ['medium', 'key-1'],
      ]);
      expect(store.snapshot.buying).to.deep.include({ kind: 'pending', bank: true });
      settle(paid);
      await tick();
      expect(store.snapshot.buying.kind).to.equal('idle');
      expect(store.snapshot.dialogOpen).to.equal(false);
      expect(told).to.deep.equal({ purchases: 1, authenticationRequired: [], errors: [] });
    });

    for (const [how, authenticate] of [
      ['rejects', () => Promise.reject(new Error('cancelled'))],
      [
        'throws',
        () => {
          throw new Error('no Stripe.js');
        },
      ],
    ] as const) {
      it(`waits for the bank when authenticate ${how}, and retries under the same key`, async () => {
        const { store, calls, settle, told } = await buying(authenticate);
        void store.confirm();
        settle(waiting('requires_action'));
        await tick();
        expect(store.snapshot.buying).to.deep.equal({
          kind: 'waiting',
          packageId: 'medium',
          key: 'key-1',
          action: waiting('requires_action'),
        });
        expect(calls).to.have.length(1);
        expect(told.authenticationRequired).to.deep.equal([]);
        void store.confirm();
        expect(calls[1]).to.deep.equal(['medium', 'key-1']);
        expect(store.snapshot.buying).to.deep.include({ kind: 'pending', bank: true });
      });
    }

    it('waits for the bank when the answer after authenticating is still a 202', async () => {
      let authentications = 0;
      const { store, calls, settle } = await buying(async () => void authentications++);
      void store.confirm();
      settle(waiting('requires_action'));
      await tick();
      settle(waiting('requires_action'));
      await tick();
      expect(calls).to.have.length(2);
      expect(authentications).to.equal(1);
      expect(store.snapshot.buying.kind).to.equal('waiting');
    });

    it('tells the host without authenticate, and keeps the key and package until a retry settles it', async () => {
      const { store, calls, settle, told } = await buying();
      store.select('small');
      void store.confirm();
      const action = { ...waiting('requires_action') };
      settle(action);
      await tick();
      expect(told.authenticationRequired).to.deep.equal([
        { clientSecret: 'pi_1_secret', purchase: action.purchase },
      ]);
      expect(store.snapshot.buying).to.include({ kind: 'waiting', packageId: 'small' });
      store.closeDialog();
      store.openDialog();
      store.select('medium');
      expect(store.snapshot.selectedId).to.equal('small');
      expect(store.snapshot.buying.kind).to.equal('waiting');
      void store.confirm();
      void store.confirm();
      settle({ ...paid, purchase: { ...paid.purchase, packageId: 'small' } });
      await tick();
      expect(calls).to.deep.equal([
        ['small', 'key-1'],
        ['small', 'key-1'],
      ]);
      expect(store.snapshot.buying.kind).to.equal('idle');
      expect(told.purchases).to.equal(1);
    });

    it('waits for the processor on a 202 pending, without asking the bank', async () => {
      let authentications = 0;
      const { store, calls, settle, told } = await buying(async () => void authentications++);
      void store.confirm();
      settle(waiting('pending'));
      await tick();
      expect(store.snapshot.buying).to.include({ kind: 'waiting', key: 'key-1' });
      expect(authentications).to.equal(0);
      expect(told.authenticationRequired).to.deep.equal([]);
      void store.confirm();
      expect(store.snapshot.buying).to.deep.include({ kind: 'pending', bank: false });
      expect(calls.map((c) => c[1])).to.deep.equal(['key-1', 'key-1']);
    });

    it('lists a waiting purchase at once, and the paid one in its place', async () => {
      const { store, settle } = await buying();
      void store.confirm();
      settle(waiting('requires_action'));
      await tick();
      expect(store.snapshot.purchases).to.deep.equal([waiting('requires_action').purchase]);
      void store.confirm();
      settle(paid);
      await tick();
      expect(store.snapshot.purchases).to.deep.equal([paid.purchase]);
    });

    it('keeps the key after payment_unavailable (it may have been charged), not after payment_method_required', async () => {
      const { store, calls, refuse } = await buying();
      void store.confirm();
      refuse(new ApiError(502, 'payment_unavailable', 'Stripe is down'));
      await tick();
      expect(store.snapshot.buying).to.include({ kind: 'failed', unconfirmed: true });
      store.closeDialog();
      store.openDialog();
      void store.confirm();
      refuse(new ApiError(402, 'payment_method_required', 'No card'));
      await tick();
      expect(store.snapshot.buying).to.include({ kind: 'failed', unconfirmed: false });
      store.closeDialog();
      store.openDialog();
      void store.confirm();
      expect(calls.map((c) => c[1])).to.deep.equal(['key-1', 'key-1', 'key-2']);
    });
  });
});

describe('TopupStore, live balances', () => {
  /** The stub's balance at `version`, with `extraSeconds` of extra minutes and a warning. */
  const at = (version: number, extraSeconds = 0, warning: BalanceDto['warning'] = 'none') =>
    ({
      ...balance,
      version,
      extra: { remainingSeconds: extraSeconds, activePackages: extraSeconds ? 1 : 0 },
      warning,
    }) as BalanceDto;

  async function loaded(first = at(5)) {
    const stub = stubClient();
    const { client } = stub;
    let lists = 0;
    client.balance = async () => first;
    client.purchases = async () => (lists++, { purchases: [] });
    const store = new TopupStore(client);
    await store.load();
    return { ...stub, store, lists: () => lists };
  }

  it('shows a live balance newer than the one shown, and ignores one that is not', async () => {
    const { store } = await loaded();
    store.liveBalance(at(7));
    expect(store.snapshot.balance!.version).to.equal(7);
    for (const stale of [at(7, 60), at(6, 60), { ...at(8), version: undefined } as never]) {
      store.liveBalance(stale);
      expect(store.snapshot.balance!.version).to.equal(7);
      expect(store.snapshot.balance!.extra.remainingSeconds).to.equal(0);
    }
  });

  it('keeps a live balance newer than what a load read before it', async () => {
    const { store, client } = await loaded();
    let answer: (b: BalanceDto) => void = () => {};
    client.balance = () => new Promise((resolve) => (answer = resolve));
    const load = store.load();
    store.liveBalance(at(9, 60));
    answer(at(8));
    await load;
    expect(store.snapshot.balance!.version).to.equal(9);
  });

  it('fetches the packages again when the extra minutes change, not otherwise', async () => {
    const { store, lists } = await loaded();
    expect(lists()).to.equal(1);
    store.liveBalance({ ...at(6), overageSeconds: 60 });
    expect(lists()).to.equal(1);
    store.liveBalance(at(7, 6000));
    expect(lists()).to.equal(2);
  });

  it('notes a change of warning level from the stream, and forgets it at a purchase', async () => {
    const { store, settle } = await loaded();
    store.liveBalance(at(6));
    expect(store.snapshot.warningChange).to.equal(null);
    store.liveBalance(at(7, 0, 'empty'));
    expect(store.snapshot.warningChange).to.equal('empty');
    store.liveBalance(at(8, 60, 'empty'));
    expect(store.snapshot.warningChange).to.equal('empty');
    store.openDialog();
    void store.confirm();
    settle({ purchase: { id: 'p1' } as PurchaseDto, balance: at(9, 6060) });
    await new Promise((r) => setTimeout(r));
    expect(store.snapshot.lastPurchase).not.to.equal(null);
    expect(store.snapshot.warningChange).to.equal(null);
  });
});
