import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileChargeJournal } from '../../server/payments/charge-journal.js';
import { DomainError } from '../../server/domain/errors.js';
import {
  chargeKeyOf,
  type ChargeJournal,
  type ChargeLookup,
  type ChargeRequest,
} from '../../server/payments/gateway.js';
import { TestPaymentGateway } from '../../server/payments/test-gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'minute-topup-payments-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const journalFile = () => join(dir, `charges-${++files}.jsonl`);

const request = (over: Partial<ChargeRequest> = {}): ChargeRequest & ChargeLookup => ({
  idempotencyKey: 'key-1',
  attempt: 'a1',
  accountId: 'p',
  purchaseKey: 'k',
  packageId: 'small',
  customerId: null,
  amountMinor: 1500,
  currency: 'USD',
  description: 'Small: 50 voice minutes',
  sinceMs: 0,
  ...over,
});

const refused = (field: RegExp) => (error: unknown) => {
  assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
  assert.equal(error.code, 'charge_conflict');
  assert.match(error.message, field);
  return true;
};

describe('chargeKeyOf', () => {
  it('keeps accounts and keys apart whatever characters they hold', async () => {
    const pairs: [string, string][] = [
      ['p', 'q:k2'],
      ['p:q', 'k2'],
      ['p:q:k2', ''],
      ['p"', 'q'],
      ['p', '"q'],
    ];
    const keys = await Promise.all(pairs.map(([a, k]) => chargeKeyOf(a, k)));
    assert.equal(new Set(keys).size, pairs.length);
    for (const key of keys) assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(await chargeKeyOf('p', 'q:k2'), keys[0], 'the same pair, the same key');
  });
});

describe('TestPaymentGateway', () => {
  it('replays a charge only for the same account, amount and currency', async () => {
    const gateway = new TestPaymentGateway();
    const first = await gateway.charge(request());
    assert.equal(first.status, 'approved');
    await assert.rejects(gateway.charge(request({ accountId: 'p:q' })), refused(/account/));
    await assert.rejects(gateway.charge(request({ amountMinor: 5000 })), refused(/amount/));
    await assert.rejects(gateway.charge(request({ currency: 'EUR' })), refused(/currency/));
    assert.deepEqual(await gateway.charge(request()), first, 'the same charge replays');
    assert.equal(gateway.chargeCount, 1);
    assert.equal(gateway.charges.size, 1);
  });

  it('never approves a declining account on the charge of another', async () => {
    const gateway = new TestPaymentGateway({ declineFor: ['p:q'] });
    await gateway.charge(request());
    await assert.rejects(
      gateway.charge(request({ accountId: 'p:q', amountMinor: 5000 })),
      refused(/account and amount/),
    );
    assert.equal(gateway.chargeCount, 1);
  });

  it('finds a charge only for its own account, amount and currency', async () => {
    const gateway = new TestPaymentGateway();
    const { reference } = (await gateway.charge(request())) as { reference: string };
    assert.deepEqual(await gateway.findCharge(request()), { status: 'approved', reference });
    assert.equal(await gateway.findCharge(request({ idempotencyKey: 'other' })), null);
    await assert.rejects(gateway.findCharge(request({ accountId: 'x' })), refused(/account/));
    await assert.rejects(gateway.findCharge(request({ amountMinor: 1 })), refused(/amount/));
  });

  it('refuses a mismatched replay of a charge another process put in the journal', async () => {
    const file = journalFile();
    const first = new TestPaymentGateway({ journal: new FileChargeJournal(file) });
    await first.charge(request());
    const second = new TestPaymentGateway({ journal: new FileChargeJournal(file) });
    await assert.rejects(second.charge(request({ accountId: 'p:q' })), refused(/account/));
    await assert.rejects(second.charge(request({ amountMinor: 5000 })), refused(/amount/));
    await assert.rejects(second.findCharge(request({ accountId: 'p:q' })), refused(/account/));
    assert.equal(second.chargeCount, 0);
    assert.equal(second.charges.size, 0, 'a refused charge is not remembered as its own');
    const replay = await second.charge(request());
    assert.equal(replay.status, 'approved');
    assert.equal(second.chargeCount, 0, 'a replay is not a new charge');
  });

  it('refuses when another process records its charge under the key first (a race)', async () => {
    const file = journalFile();
    const real = new FileChargeJournal(file);
    await new TestPaymentGateway({ journal: real }).charge(request());
    // This process looked before the other one recorded: it saw nothing.
    const late: ChargeJournal = { find: () => null, record: (c) => real.record(c) };
    const gateway = new TestPaymentGateway({ journal: late });
    await assert.rejects(gateway.charge(request({ accountId: 'p:q' })), refused(/account/));
    assert.equal(gateway.chargeCount, 0);
    assert.equal(gateway.charges.size, 0);
  });
});
