import { join } from 'node:path';
import { createAccounts, load, median, spawnServer, tempDir } from './util.js';

export interface Row {
  figure: string;
  value: string;
  goal: string;
}

const accounts = Array.from({ length: 10 }, (_, i) => `acct-${i}`);

/**
 * Usage calls and balance reads over HTTP against the floor (a bare Hono
 * route running one better-sqlite3 transaction of the same durability: WAL,
 * FULL) and the ceiling (a bare Hono route, no database). The API runs three
 * times — as configured by default (group commit, the WAL synced on the
 * thread pool), with SQLite's own inline fsync (`MINUTE_TOPUP_SQLITE_FSYNC=inline`,
 * the default until issue 17) and without group commit
 * (`MINUTE_TOPUP_SQLITE_MAX_BATCH=1`) — and all run side by side,
 * alternating, so they see the same machine.
 */
export async function httpBench(runs = 3): Promise<Row[]> {
  const tmp = tempDir();
  const floor = await spawnServer('bench/floor-server.ts', {
    DATABASE_URL: join(tmp.dir, 'floor.db'),
  });
  const grouped = await spawnServer('server/main.ts', {
    DATABASE_URL: join(tmp.dir, 'grouped.db'),
  });
  const single = await spawnServer('server/main.ts', {
    DATABASE_URL: join(tmp.dir, 'single.db'),
    MINUTE_TOPUP_SQLITE_MAX_BATCH: '1',
  });
  const inline = await spawnServer('server/main.ts', {
    DATABASE_URL: join(tmp.dir, 'inline.db'),
    MINUTE_TOPUP_SQLITE_FSYNC: 'inline',
  });
  try {
    await createAccounts(grouped.base, accounts);
    await createAccounts(single.base, accounts);
    await createAccounts(inline.base, accounts);
    const f: number[] = [];
    const c: number[] = [];
    const g: number[] = [];
    const s: number[] = [];
    const n: number[] = [];
    const b: number[] = [];
    const lat: number[] = [];
    for (const [base, kind] of [
      [floor.base, 'floor'],
      [floor.base, 'ceiling'],
      [grouped.base, 'usage'],
      [single.base, 'usage'],
      [inline.base, 'usage'],
    ] as const) {
      await load([base], kind, { seconds: 1 }); // warm-up
    }
    for (let i = 0; i < runs; i += 1) {
      f.push((await load([floor.base], 'floor')).perSecond);
      c.push((await load([floor.base], 'ceiling')).perSecond);
      const usage = await load([grouped.base], 'usage');
      g.push(usage.perSecond);
      lat.push(usage.p50);
      s.push((await load([single.base], 'usage')).perSecond);
      n.push((await load([inline.base], 'usage')).perSecond);
      b.push((await load([grouped.base], 'balance')).perSecond);
    }
    const ratio = (xs: number[]) => `${median(xs.map((x, i) => x / f[i])).toFixed(2)}×`;
    const toCeiling = median(g.map((x, i) => x / c[i]));
    return [
      {
        figure: 'Ceiling: bare Hono route, no database',
        value: `${median(c).toFixed(0)} req/s (same JSON in and out as a usage call, 16 connections)`,
        goal: '—',
      },
      {
        figure: 'Usage calls over HTTP ÷ ceiling',
        value: `${toCeiling.toFixed(2)}× (${median(g).toFixed(0)} ÷ ${median(c).toFixed(0)} req/s)`,
        goal: '≥ 0.6×',
      },
      {
        figure: 'Floor: bare Hono route, one SQLite FULL transaction per request',
        value: `${median(f).toFixed(0)} req/s`,
        goal: '—',
      },
      {
        figure: 'Usage calls over HTTP, group commit (default)',
        value: `${median(g).toFixed(0)} req/s, p50 ${median(lat)} ms — ${ratio(g)} the floor`,
        goal: '≥ 0.8× (stretch ≥ 2×)',
      },
      {
        figure: 'Usage calls over HTTP, fsync inline in COMMIT (SQLITE_FSYNC=inline)',
        value: `${median(n).toFixed(0)} req/s — ${ratio(n)} the floor; the default ÷ this ${median(g.map((x, i) => x / n[i])).toFixed(2)}×`,
        goal: '— (for comparison)',
      },
      {
        figure:
          'Usage calls over HTTP, one transaction per COMMIT (MAX_BATCH=1; syncs still shared)',
        value: `${median(s).toFixed(0)} req/s — ${ratio(s)} the floor`,
        goal: '— (for comparison)',
      },
      {
        figure: 'Balance reads over HTTP',
        value: `${median(b).toFixed(0)} req/s`,
        goal: '—',
      },
    ];
  } finally {
    await Promise.all([floor.stop(), grouped.stop(), single.stop(), inline.stop()]);
    tmp.remove();
  }
}
