import { isPostgresUrl } from '../config.js';
import type { LedgerStore } from './types.js';

/** Opens the store `DATABASE_URL` names: PostgreSQL for postgres:// URLs, else a SQLite file. */
export async function openStore(databaseUrl: string): Promise<LedgerStore> {
  if (isPostgresUrl(databaseUrl)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(databaseUrl);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return new SqliteStore(databaseUrl);
}
