import { expect } from '@open-wc/testing';
import type { AutoTopupDto, AutoTopupRequest, BalanceDto } from '../../contract/index.js';
import type { ApiClient } from '../../widget/api-client.js';
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
  /** A client whose auto top-up answers `initial` until saved; the rest is an empty account. */
  function client(initial: AutoTopupDto = { ...on, enabled: false }) {
    const sent: AutoTopupRequest[] = [];
    let current = initial;
    let release: () => void = () => {};
    let reads = 0;
    const api = {
      catalog: async () => ({ currency: 'USD', packages: [], plans: [] }),
      balance: async () => balance(100),
      purchases: async () => ({ purchases: [] }),
      recommendation: async () => {
        throw new Error('none');
      },
      autoTopup: async () => (reads++, current),
      setAutoTopup: async (request: AutoTopupRequest) => {
        sent.push(request);
        await new Promise<void>((r) => (release = r));
        return (current = { ...current, ...request, status: 'active' });
      },
    } as unknown as ApiClient;
    return { api, sent, release: () => release(), reads: () => reads };
  }

  it('saves once while a save is under way, and tells the host', async () => {
    const { api, sent, release } = client();
    const told: AutoTopupDto[] = [];
    const store = new TopupStore(api, { autoTopupChange: (s) => told.push(s) });
    await store.load();
    store.autoTopup.edit();
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
    store.autoTopup.edit();
    await store.autoTopup.save(draft({ limit: '40' }));
    expect(sent).to.have.length(0);
    expect(store.snapshot.autoTopup).to.deep.include({ editing: true, invalid: ['limit'] });
  });

  it('opens no editor for a view-only token, and closes an open one', async () => {
    const { api } = client();
    const store = new TopupStore(api);
    await store.load();
    store.autoTopup.edit();
    expect(store.snapshot.autoTopup.editing).to.equal(true);
    store.useToken(`e30.${btoa(JSON.stringify({ scope: 'view' })).replace(/=+$/, '')}.c2ln`);
    expect(store.snapshot.autoTopup.editing).to.equal(false);
    store.autoTopup.edit();
    expect(store.snapshot.autoTopup.editing).to.equal(false);
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
