import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A WAL sync the test lets finish (or fail) when it chooses. */
interface HeldSync {
  fd: number;
  release(): void;
  fail(error: Error): void;
}

/** A file store whose WAL syncs wait for the test; `next()` resolves when the store asks for one. */
function heldSyncs(
  options: { checkpointAfterRows?: number; before?: (path: string) => void } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-fsync-'));
  const path = join(dir, 'ledger.db');
  options.before?.(path);
  let syncsAsked = 0;
  const asked: HeldSync[] = [];
  const waiting: ((s: HeldSync) => void)[] = [];
  /** Syncs of the database's folder (its entry for the WAL): done at once, counted. */
  const folderSyncs: string[] = [];
  const store = new SqliteStore(path, {
    checkpointAfterRows: options.checkpointAfterRows,
    fdatasync: (fd) =>
      new Promise<void>((resolve, reject) => {
        if (fstatSync(fd).isDirectory()) {
          folderSyncs.push(`after ${asked.length + syncsAsked} WAL syncs`);
          return resolve();
        }
        syncsAsked += 1;
        const held = { fd, release: resolve, fail: reject };
        const w = waiting.shift();
        if (w) w(held);
        else asked.push(held);
      }),
  });
  return {
    store,
    path,
    folderSyncs,
    /** The next sync of the WAL the store asks for. */
    next: () =>
      new Promise<HeldSync>((resolve) => {
        const a = asked.shift();
        if (a) resolve(a);
        else waiting.push(resolve);
      }),
    /** What another connection sees: committed rows, answered or not. */
    committedIds: () => {
      const other = new Database(path, { readonly: true });
      try {
        return (other.prepare('SELECT id FROM accounts ORDER BY id').all() as { id: string }[]).map(
          (r) => r.id,
        );
      } finally {
        other.close();
      }
    },
    async remove() {
      await store.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `test` on a store whose syncs it holds, then removes the store and its folder. */
async function withHeldSyncs(test: (h: ReturnType<typeof heldSyncs>) => Promise<void>) {
  const h = heldSyncs();
  try {
    await test(h);
  } finally {
    await h.remove();
  }
}

/** Whether a promise has settled, after the tasks queued before this call have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('SQLite fsync in the background (a file database, FULL)', () => {
  const put = (store: SqliteStore, id: string) =>
    store.transact((tx) => tx.putAccount(id, 'starter', 0, 0));
  /** Puts an account and lets its sync finish. */
  const putSynced = async (h: ReturnType<typeof heldSyncs>, id: string) => {
    const done = put(h.store, id);
    (await h.next()).release();
    await done;
  };

  it('answers a transaction only after a sync of the WAL that began after its COMMIT', async () => {
    await withHeldSyncs(async (h) => {
      const a = put(h.store, 'a');
      const sync = await h.next();
      // Committed (another connection sees it), not yet answered.
      assert.deepEqual(h.committedIds(), ['a']);
      assert.equal(await settled(a), false, 'answered before its sync');
      assert.equal(fstatSync(sync.fd).ino, statSync(`${h.path}-wal`).ino, 'the WAL is synced');
      sync.release();
      assert.equal(await a, true);
      assert.equal(h.store.stats.syncs, 1);
    });
  });

  it('runs the next batch while a sync is under way; a later sync answers both', async () => {
    await withHeldSyncs(async (h) => {
      const a = put(h.store, 'a');
      const first = await h.next();
      const b = put(h.store, 'b');
      // b's batch commits while a's sync is held, and its own sync begins.
      const second = await h.next();
      assert.deepEqual(h.committedIds(), ['a', 'b']);
      assert.equal(await settled(a), false);
      assert.equal(await settled(b), false);
      // The later sync covers every COMMIT before it began: a's too.
      second.release();
      assert.deepEqual(await Promise.all([a, b]), [true, true]);
      first.release();
    });
  });

  it('fails what waits, and every later transaction, when a sync fails', async () => {
    await withHeldSyncs(async (h) => {
      const a = put(h.store, 'a');
      (await h.next()).fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      await assert.rejects(a, /could not be synced to disk: Error: EIO/);
      await assert.rejects(put(h.store, 'b'), /could not be synced to disk/);
      assert.deepEqual(h.committedIds(), ['a'], 'nothing more was written');
    });
  });

  it('answers a read without a sync once what it read is synced', async () => {
    await withHeldSyncs(async (h) => {
      await putSynced(h, 'a');
      const read = await h.store.transact((tx) => tx.getAccount('a'));
      assert.equal(read?.id, 'a');
      assert.equal(h.store.stats.syncs, 1, 'a read of synced data asks no sync');
      // A read of data not yet synced waits for its sync.
      const b = put(h.store, 'b');
      const sync = await h.next();
      const readB = h.store.transact((tx) => tx.getAccount('b'));
      assert.equal(await settled(readB), false, 'a read of unsynced data answered');
      sync.release();
      assert.equal((await readB)?.id, 'b');
      await b;
    });
  });

  it('syncs the folder once, before the first sync of the WAL, and keeps NORMAL between batches', async () => {
    await withHeldSyncs(async (h) => {
      await putSynced(h, 'a');
      await putSynced(h, 'b');
      assert.deepEqual(h.folderSyncs, ['after 0 WAL syncs']);
      // NORMAL, not OFF: SQLite still syncs the WAL's header when the WAL starts over.
      assert.equal(h.store.db.pragma('synchronous', { simple: true }), 1);
    });
  });

  it('syncs the WAL SQLite writes when the database path is a symbolic link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minute-topup-link-'));
    mkdirSync(join(dir, 'real'));
    const target = join(dir, 'real', 'ledger.db');
    new Database(target).close();
    symlinkSync(target, join(dir, 'ledger.db'));
    const synced: number[] = [];
    const store = new SqliteStore(join(dir, 'ledger.db'), {
      fdatasync: async (fd) => {
        synced.push(fstatSync(fd).ino);
      },
    });
    try {
      assert.equal(await put(store, 'a'), true);
      assert.ok(synced.includes(statSync(`${target}-wal`).ino), 'the WAL beside the target');
      assert.equal(existsSync(join(dir, 'ledger.db-wal')), false);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails its batch and every later one when a checkpoint fails, and never hangs', async () => {
    const h = heldSyncs({ checkpointAfterRows: 1 });
    const pragma = h.store.db.pragma.bind(h.store.db);
    h.store.db.pragma = ((source: string, options?: { simple?: boolean }) => {
      if (source.startsWith('wal_checkpoint')) throw new Error('disk I/O error');
      return pragma(source, options);
    }) as typeof h.store.db.pragma;
    try {
      await assert.rejects(put(h.store, 'a'), /could not be checkpointed: Error: disk I\/O error/);
      await assert.rejects(put(h.store, 'b'), /could not be checkpointed/);
    } finally {
      h.store.db.pragma = pragma;
      await h.remove();
    }
  });

  it('closes only after the syncs under way, and refuses work once closed', async () => {
    await withHeldSyncs(async (h) => {
      const a = put(h.store, 'a');
      const sync = await h.next();
      const closing = h.store.close();
      assert.equal(await settled(closing), false, 'closed with a sync under way');
      sync.release();
      await closing;
      assert.equal(await a, true);
      await assert.rejects(put(h.store, 'b'), /The SQLite store is closed/);
    });
  });

  it("waits for a sync before answering a read of another connection's unsynced commit", async () => {
    await withHeldSyncs(async (h) => {
      await putSynced(h, 'a');
      const other = new Database(h.path);
      other.pragma('synchronous = OFF');
      other
        .prepare(
          "INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms) VALUES ('x', 'starter', 0, 0)",
        )
        .run();
      const read = h.store.transact((tx) => tx.getAccount('x'));
      const sync = await h.next();
      assert.equal(await settled(read), false);
      sync.release();
      assert.equal((await read)?.id, 'x');
      other.close();
    });
  });

  it('syncs a WAL left by a process that died before answering its first read', async () => {
    let dead: Database.Database | undefined;
    const h = heldSyncs({
      before: (path) => {
        // A process that wrote without syncing and is gone (its WAL stays, unsynced).
        new SqliteStore(path, { synchronous: 'NORMAL' }).db.close();
        dead = new Database(path);
        dead.pragma('synchronous = OFF');
        dead
          .prepare(
            "INSERT INTO accounts (id, plan_id, cycle_anchor_ms, created_at_ms) VALUES ('x', 'starter', 0, 0)",
          )
          .run();
      },
    });
    try {
      const read = h.store.transact((tx) => tx.getAccount('x'));
      const sync = await h.next();
      assert.equal(await settled(read), false, 'a read of a WAL never synced answered');
      sync.release();
      assert.equal((await read)?.id, 'x');
    } finally {
      dead?.close();
      await h.remove();
    }
  });

  it('checkpoints every so many rows changed, so the WAL does not grow without end', async () => {
    const walBytes = async (checkpointAfterRows: number) => {
      const dir = mkdtempSync(join(tmpdir(), 'minute-topup-wal-'));
      const path = join(dir, 'ledger.db');
      const store = new SqliteStore(path, { checkpointAfterRows });
      try {
        for (let i = 0; i < 200; i += 1) await put(store, `acct-${i}`);
        return { bytes: statSync(`${path}-wal`).size, checkpoints: store.stats.checkpoints };
      } finally {
        await store.close();
        // Closed: checkpointed into the file, the WAL removed.
        assert.equal(existsSync(`${path}-wal`), false);
        const reopened = new Database(path, { readonly: true });
        const n = reopened.prepare('SELECT COUNT(*) AS n FROM accounts').get() as { n: number };
        reopened.close();
        assert.equal(n.n, 200);
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const every8 = await walBytes(8);
    const never = await walBytes(1_000_000);
    assert.equal(every8.checkpoints, 25);
    assert.equal(never.checkpoints, 0);
    assert.ok(
      every8.bytes * 4 < never.bytes,
      `WAL ${every8.bytes} bytes with checkpoints, ${never.bytes} without`,
    );
  });
});
