import { expect } from '@open-wc/testing';
import { randomUuid } from '../../contract/random-uuid.js';
import { withCrypto } from './helpers.js';

describe('randomUuid', () => {
  it('makes UUID v4 idempotency keys without crypto.randomUUID', async () => {
    // Gone, as on a page served over plain http from a LAN address.
    const keys = await withCrypto({ randomUUID: null }, () => {
      expect('randomUUID' in crypto).to.equal(false);
      return new Set(Array.from({ length: 100 }, () => randomUuid()));
    });
    expect(keys.size).to.equal(100);
    for (const k of keys)
      expect(k).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
