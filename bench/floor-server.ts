/**
 * What the API is measured against, side by side:
 * - the floor, a bare Hono route that runs one better-sqlite3 transaction of
 *   the same durability as the ledger (WAL, synchronous=FULL) — read a
 *   counter, insert a ledger row, update the counter;
 * - the ceiling, a bare Hono route with no database at all: it parses the
 *   same JSON body as a usage call and answers a JSON body of the same size
 *   as a usage call's answer (`USAGE_ANSWER`), nothing else.
 */
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Hono } from 'hono';

const db = new Database(process.env.DATABASE_URL ?? ':memory:');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, used INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS rows (account TEXT, call_id TEXT, seconds INTEGER, PRIMARY KEY (account, call_id));`);
const read = db.prepare('SELECT used FROM balances WHERE account = ?');
const insert = db.prepare('INSERT INTO rows (account, call_id, seconds) VALUES (?, ?, ?)');
const upsert = db.prepare(
  'INSERT INTO balances (account, used) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET used = excluded.used',
);
const record = db.transaction((account: string, callId: string, seconds: number) => {
  const used = ((read.get(account) as { used: number } | undefined)?.used ?? 0) + seconds;
  insert.run(account, callId, seconds);
  upsert.run(account, used);
  return used;
});

/** A usage call's answer as the API gives it (its size and shape; the figures do not matter). */
const USAGE_ANSWER = {
  usage: {
    callId: 'c00000-000000',
    seconds: 7,
    occurredAt: '2026-11-28T00:00:00.000Z',
    fromPlanSeconds: 7,
    fromExtra: [],
    overageSeconds: 0,
  },
  balance: {
    plan: {
      id: 'scale',
      name: 'Scale',
      allowanceSeconds: 240000,
      usedSeconds: 123456,
      remainingSeconds: 116544,
      cycleStart: '2026-11-28T00:00:00.000Z',
      cycleEnd: '2026-12-28T00:00:00.000Z',
    },
    extra: { remainingSeconds: 0, activePackages: 0 },
    overageSeconds: 0,
    warning: 'none',
    version: 12345,
  },
};

const app = new Hono();
app.post('/ceiling/usage/:account', async (c) => {
  const { callId, seconds } = await c.req.json<{ callId: string; seconds: number }>();
  return c.json({ ...USAGE_ANSWER, usage: { ...USAGE_ANSWER.usage, callId, seconds } });
});
app.get('/v1/catalog', (c) => c.json({ ok: true }));
app.post('/floor/usage/:account', async (c) => {
  const { callId, seconds } = await c.req.json<{ callId: string; seconds: number }>();
  return c.json({ used: record(c.req.param('account'), callId, seconds) });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT) });
