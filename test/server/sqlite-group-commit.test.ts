import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../server/store/sqlite.js';
import type { LedgerTx } from '../../server/store/types.js';

/** Three transactions queued together share one batch (one COMMIT). */
async function batchOfThree(
  store: SqliteStore,
  middle: (tx: LedgerTx) => Promise<void>,
): Promise<PromiseSettledResult<unknown>[]> {
  const put = (id: string) => store.transact((tx) => tx.putAccount(id, 'starter', 0, 0));
  return Promise.allSettled([put('first'), store.transact(middle), put('third')]);
}

describe('SQLite group commit', () => {
  it('commits transactions that arrive together once, and acknowledges each', async () => {
    const store = new SqliteStore(':memory:');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.transact((tx) => tx.putAccount(`a${i}`, 'starter', 0, 0)),
      ),
    );
    assert.equal(results.filter(Boolean).length, 20);
    assert.equal(store.stats.transactions, 20);
    assert.ok(store.stats.commits < 20, `${store.stats.commits} commits for 20 transactions`);
    await store.close();
  });

  it('undoes a failing transaction alone and keeps the others of its batch', async () => {
    const store = new SqliteStore(':memory:');
    const results = await batchOfThree(store, async (tx) => {
      await tx.putAccount('middle', 'starter', 0, 0);
      throw new Error('rule broken');
    });
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.equal(results[2].status, 'fulfilled');
    const audit = await store.audit();
    assert.deepEqual(audit.accounts.map((a) => a.id).sort(), ['first', 'third']);
    await store.close();
  });

  it('fails the whole batch when SQLite loses the transaction, and keeps working', async () => {
    const store = new SqliteStore(':memory:');
    const results = await batchOfThree(store, async (tx) => {
      await tx.putAccount('middle', 'starter', 0, 0);
      // What SQLite does on SQLITE_FULL or an I/O error: the transaction is gone.
      store.db.exec('ROLLBACK');
      throw new Error('disk I/O error');
    });
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
      'nothing of a lost batch is acknowledged',
    );
    assert.deepEqual((await store.audit()).accounts, []);
    await store.transact((tx) => tx.putAccount('after', 'starter', 0, 0));
    assert.deepEqual(
      (await store.audit()).accounts.map((a) => a.id),
      ['after'],
    );
    await store.close();
  });
});
