import { isPostgresUrl } from '../config.js';
import type { LedgerStore } from './types.js';

export interface OpenStoreOptions {
  /** SQLite group commit: transactions per COMMIT at most (1: off). */
  sqliteMaxBatch?: number;
}

/** Opens the store `DATABASE_URL` names: PostgreSQL for postgres:// URLs, else a SQLite file. */
export async function openStore(
  databaseUrl: string,
  options: OpenStoreOptions = {},
): Promise<LedgerStore> {
  if (isPostgresUrl(databaseUrl)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(databaseUrl);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return new SqliteStore(databaseUrl, { maxBatch: options.sqliteMaxBatch });
}
