/**
 * The PostgreSQL floor the API's PostgreSQL usage calls are measured against:
 * a bare Hono route that runs one transaction per request on a pool of the
 * API's size (`PGPOOL_MAX`, default as the API's) — `BEGIN`, one
 * `UPDATE … RETURNING`, `COMMIT` — and answers a small JSON body.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';
import { STORE_DEFAULTS } from '../server/store/options.js';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.PGPOOL_MAX || STORE_DEFAULTS.postgresPoolMax),
});
await pool.query(`CREATE TABLE IF NOT EXISTS floor_balances (
  account TEXT PRIMARY KEY, used BIGINT NOT NULL DEFAULT 0)`);
await pool.query(
  `INSERT INTO floor_balances (account) SELECT 'acct-' || g FROM generate_series(0, 99) g
   ON CONFLICT DO NOTHING`,
);

const app = new Hono();
app.get('/v1/catalog', (c) => c.json({ ok: true }));
app.post('/floor/usage/:account', async (c) => {
  const { seconds } = await c.req.json<{ callId: string; seconds: number }>();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ used: string }>(
      'UPDATE floor_balances SET used = used + $2 WHERE account = $1 RETURNING used',
      [c.req.param('account'), seconds],
    );
    await client.query('COMMIT');
    return c.json({ used: Number(rows[0]?.used ?? 0) });
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
});
serve({ fetch: app.fetch, port: Number(process.env.PORT) });
