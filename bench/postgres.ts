import { freshPostgresDatabase } from '../test/support/pg.js';
import type { Row } from './http.js';
import { createAccounts, load, median, spawnServer, tempDir } from './util.js';

const accounts = Array.from({ length: 10 }, (_, i) => `acct-${i}`);

/** Usage calls per second on one PostgreSQL database with one and with two API processes. */
export async function postgresBench(runs = 3): Promise<Row[]> {
  const db = await freshPostgresDatabase();
  if (!db) return [{ figure: 'PostgreSQL', value: 'not reachable: skipped', goal: '—' }];
  const tmp = tempDir();
  const env = { DATABASE_URL: db.url, MINUTE_TOPUP_TEST_CHARGES_FILE: `${tmp.dir}/charges.jsonl` };
  const a = await spawnServer('server/main.ts', env);
  const b = await spawnServer('server/main.ts', env);
  try {
    await createAccounts(a.base, accounts);
    const one: number[] = [];
    const two: number[] = [];
    await load([a.base, b.base], 'usage', { seconds: 1 }); // warm-up
    for (let i = 0; i < runs; i += 1) {
      one.push((await load([a.base], 'usage')).perSecond);
      two.push((await load([a.base, b.base], 'usage')).perSecond);
    }
    return [
      {
        figure: 'PostgreSQL usage calls, 1 API process',
        value: `${median(one).toFixed(0)} req/s`,
        goal: '—',
      },
      {
        figure: 'PostgreSQL usage calls, 2 API processes (same run)',
        value: `${median(two).toFixed(0)} req/s (${(median(two) / median(one)).toFixed(2)}×)`,
        goal: '—',
      },
    ];
  } finally {
    await a.stop();
    await b.stop();
    await db.drop();
    tmp.remove();
  }
}
