import { expect } from '@open-wc/testing';
import type { AutoTopupDto, AutoTopupRequest, BalanceDto } from '../../contract/index.js';
import { ApiError, type ApiClient } from '../../widget/api-client.js';
import {
  autoTopupMayChange,
  parseAutoTopup,
  type AutoTopupDraft,
} from '../../widget/auto-topup.js';
import { TopupStore } from '../../widget/store.js';

const draft = (patch: Partial<AutoTopupDraft> = {}): AutoTopupDraft => ({
  enabled: true,
  threshold: '30',
  packageId: 'medium',
  limit: '3',
  ...patch,
});

const on: AutoTopupDto = {
  enabled: true,
  thresholdMinutes: 30,
  packageId: 'medium',
  monthlyLimit: 3,
  status: 'active',
  cycleCount: 0,
};

/** A balance with `planLeft` plan minutes and `extra` extra minutes left. */
const balance = (planLeft: number, extra = 0, cycleStart = '2026-11-01T00:00:00Z') =>
  ({
    plan: { remainingSeconds: planLeft * 60, cycleStart },
    extra: { remainingSeconds: extra * 60, activePackages: extra ? 1 : 0 },
    version: 1,
  }) as BalanceDto;

describe('auto top-up editor, parsed', () => {
  it('makes the request of a valid draft', () => {
    expect(
      parseAutoTopup(draft({ enabled: false, threshold: ' 100000 ', limit: '31' })),
    ).to.deep.equal({
      enabled: false,
      thresholdMinutes: 100_000,
      packageId: 'medium',
      monthlyLimit: 31,
    });
    expect(parseAutoTopup(draft({ threshold: '1', limit: '1' }))).to.deep.include({
      thresholdMinutes: 1,
      monthlyLimit: 1,
    });
  });

  it('names each field out of the API’s bounds, or not whole', () => {
    for (const threshold of ['0', '100001', '2.5', '1e3', '-4', '', 'ten'])
      expect(parseAutoTopup(draft({ threshold })), threshold).to.deep.equal(['threshold']);
    for (const limit of ['0', '32', '1.5', ''])
      expect(parseAutoTopup(draft({ limit })), limit).to.deep.equal(['limit']);
    expect(parseAutoTopup(draft({ threshold: '0', limit: '0' }))).to.deep.equal([
      'threshold',
      'limit',
    ]);
  });

  it('names the package while none is chosen (the one set is no longer offered)', () => {
    expect(parseAutoTopup(draft({ packageId: '', limit: '0' }))).to.deep.equal([
      'package',
      'limit',
    ]);
  });
});

describe('auto top-up, read again on live balances', () => {
  it('is not read while it is off or unknown', () => {
    expect(autoTopupMayChange(null, balance(100), balance(10))).to.equal(false);
    expect(autoTopupMayChange({ ...on, enabled: false }, balance(100), balance(10))).to.equal(
      false,
    );
  });

  it('is read at or under the threshold, where a purchase starts or a decline pauses it', () => {
    expect(autoTopupMayChange(on, balance(100), balance(31))).to.equal(false);
    expect(autoTopupMayChange(on, balance(100), balance(30))).to.equal(true);
    // Plan and extra minutes count together.
    expect(autoTopupMayChange(on, balance(100, 25), balance(10, 25))).to.equal(false);
    // A version alone (the pause), under the threshold.
    expect(autoTopupMayChange(on, balance(20), balance(20))).to.equal(true);
    // Paused, calls change nothing of it.
    expect(autoTopupMayChange({ ...on, status: 'paused' }, balance(20), balance(10))).to.equal(
      false,
    );
  });

  it('is read when minutes were bought (an auto purchase, or one that resumes it) and in a new cycle', () => {
    const paused = { ...on, status: 'paused' } as const;
    expect(autoTopupMayChange(paused, balance(20), balance(20, 100))).to.equal(true);
    expect(autoTopupMayChange(on, balance(0, 20), balance(0, 120))).to.equal(true);
    expect(autoTopupMayChange(on, balance(0, 120), balance(0, 100))).to.equal(false);
    expect(autoTopupMayChange(on, balance(100), balance(500, 0, '2026-12-01T00:00:00Z'))).to.equal(
      true,
    );
  });
});

describe('auto top-up in the store (no DOM)', () => {
  /**
   * A client whose auto top-up answers `initial` until saved (or `set`); the
   * rest is an empty account. Each save waits for `release` (an error: it
   * fails); while `holdReads`, each read answers what it had when asked, once
   * `answerReads` is called.
   */
  function client(initial: AutoTopupDto = { ...on, enabled: false }) {
    const sent: AutoTopupRequest[] = [];
    let current = initial;
    let release: (error?: Error) => void = () => {};
    let reads = 0;
    let holding = false;
    const held: (() => void)[] = [];
    const api = {
      catalog: async () => ({ currency: 'USD', packages: [], plans: [] }),
      balance: async () => balance(100),
      purchases: async () => ({ purchases: [] }),
      recommendation: async () => {
        throw new Error('none');
      },
      autoTopup: async () => {
        reads++;
        const answer = current;
        if (holding) await new Promise<void>((r) => held.push(r));
        return answer;
      },
      setAutoTopup: async (request: AutoTopupRequest) => {
        sent.push(request);
        await new Promise<void>((resolve, reject) => {
          release = (error) => (error ? reject(error) : resolve());
        });
        return (current = { ...current, ...request, status: 'active' });
      },
    } as unknown as ApiClient;
    return {
      api,
      sent,
      release: (error?: Error) => release(error),
      reads: () => reads,
      set: (settings: AutoTopupDto) => (current = settings),
      holdReads: () => (holding = true),
      answerReads: () => held.splice(0).forEach((answer) => answer()),
    };
  }

  const VIEW = `e30.${btoa(JSON.stringify({ scope: 'view' })).replace(/=+$/, '')}.c2ln`;

  it('saves once while a save is under way, and tells the host', async () => {
    const { api, sent, release } = client();
    const told: AutoTopupDto[] = [];
    const store = new TopupStore(api, { autoTopupChange: (s) => told.push(s) });
    await store.load();
    await store.autoTopup.edit();
    const first = store.autoTopup.save(draft());
    void store.autoTopup.save(draft({ threshold: '40' }));
    expect(sent).to.have.length(1);
    expect(store.snapshot.autoTopup.saving).to.equal(true);
    release();
    await first;
    expect(store.snapshot.autoTopup).to.deep.include({ editing: false, saving: false });
    expect(store.snapshot.autoTopup.settings?.enabled).to.equal(true);
    expect(store.snapshot.autoTopup.saved).to.equal(store.snapshot.autoTopup.settings);
    expect(told).to.deep.equal([store.snapshot.autoTopup.settings]);
    expect(Object.isFrozen(store.snapshot.autoTopup)).to.equal(true);
  });

  it('sends nothing for an invalid draft, and names the fields', async () => {
    const { api, sent } = client();
    const store = new TopupStore(api);
    await store.load();
    await store.autoTopup.edit();
    await store.autoTopup.save(draft({ limit: '40' }));
    expect(sent).to.have.length(0);
    expect(store.snapshot.autoTopup).to.deep.include({ editing: true, invalid: ['limit'] });
  });

  it('opens no editor for a view-only token, and closes an open one', async () => {
    const { api } = client();
    const store = new TopupStore(api);
    await store.load();
    await store.autoTopup.edit();
    expect(store.snapshot.autoTopup.editing).to.equal(true);
    store.useToken(VIEW);
    expect(store.snapshot.autoTopup.editing).to.equal(false);
    await store.autoTopup.edit();
    expect(store.snapshot.autoTopup.editing).to.equal(false);
  });

  it('sends nothing with a view-only token, and closes the editor once a save under way settles', async () => {
    const { api, sent, release } = client(on);
    const store = new TopupStore(api);
    await store.load();
    await store.autoTopup.edit();
    const saving = store.autoTopup.save(draft({ threshold: '40' }));
    store.useToken(VIEW);
    expect(store.snapshot.autoTopup).to.deep.include({ editing: true, saving: true });
    release(new ApiError(0, 'forbidden', 'The token may only view.'));
    await saving;
    expect(store.snapshot.autoTopup).to.deep.include({ editing: false, saving: false });
    expect(store.snapshot.autoTopup.error?.code).to.equal('forbidden');
    await store.autoTopup.save(draft());
    await store.autoTopup.resume();
    expect(sent).to.have.length(1);
  });

  it('keeps a save when a read that started during it answers after it', async () => {
    const c = client(on);
    const store = new TopupStore(c.api);
    await store.load();
    await store.autoTopup.edit();
    const saving = store.autoTopup.save(draft({ threshold: '45' }));
    c.holdReads();
    // A live refresh reads it while the save is under way: the API still has 30.
    const read = store.autoTopup.load();
    c.release();
    await saving;
    expect(store.snapshot.autoTopup.settings?.thresholdMinutes).to.equal(45);
    c.answerReads();
    await read;
    expect(store.snapshot.autoTopup.settings?.thresholdMinutes).to.equal(45);
  });

  it('opens the editor on the setting read again; reads while it is open leave its fields', async () => {
    const c = client();
    const store = new TopupStore(c.api);
    await store.load();
    // Another tab turned it on.
    c.set({ ...on, thresholdMinutes: 40 });
    await store.autoTopup.edit();
    expect(c.reads()).to.equal(2);
    expect(store.snapshot.autoTopup.editing).to.equal(true);
    expect(store.snapshot.autoTopup.form).to.deep.include({ enabled: true, thresholdMinutes: 40 });
    c.set({ ...on, thresholdMinutes: 50 });
    await store.autoTopup.load();
    expect(store.snapshot.autoTopup.settings?.thresholdMinutes).to.equal(50);
    expect(store.snapshot.autoTopup.form?.thresholdMinutes).to.equal(40);
  });

  it('takes a pause a read finds as news for the root to announce, until saved again', async () => {
    const paused: AutoTopupDto = { ...on, status: 'paused', pausedReason: 'Declined.' };
    const c = client(paused);
    const store = new TopupStore(c.api);
    await store.load();
    // Paused from the start: not news.
    expect(store.snapshot.autoTopup.pauseNews).to.equal(false);
    c.set(on);
    await store.autoTopup.load();
    c.set(paused);
    await store.autoTopup.load();
    expect(store.snapshot.autoTopup.pauseNews).to.equal(true);
    const saving = store.autoTopup.resume();
    expect(store.snapshot.autoTopup.pauseNews).to.equal(false);
    c.release();
    await saving;
    expect(store.snapshot.autoTopup.saved?.status).to.equal('active');
  });

  it('reads it again on a live balance only when it may have changed', async () => {
    const { api, reads } = client(on);
    const store = new TopupStore(api);
    await store.load();
    expect(reads()).to.equal(1);
    store.liveBalance({ ...balance(90), version: 2 });
    expect(reads()).to.equal(1);
    store.liveBalance({ ...balance(5), version: 3 });
    expect(reads()).to.equal(2);
    // An older balance is ignored altogether.
    store.liveBalance({ ...balance(4), version: 3 });
    expect(reads()).to.equal(2);
  });

  it('is not read on live balances while off', async () => {
    const { api, reads } = client();
    const store = new TopupStore(api);
    await store.load();
    store.liveBalance({ ...balance(5), version: 2 });
    expect(reads()).to.equal(1);
  });
});
