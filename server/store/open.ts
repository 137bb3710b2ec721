import { isPostgresUrl, sqlitePathOrPostgresUrl } from '../config.js';
import type { LedgerStore } from './types.js';

export interface OpenStoreOptions {
  /** SQLite group commit: transactions per COMMIT at most (1: off). */
  sqliteMaxBatch?: number;
}

/**
 * Opens the store `DATABASE_URL` names: PostgreSQL for postgres:// URLs, else
 * a SQLite file (a path, or a `file:` URL made one). Any other scheme throws
 * the `ConfigError` of `sqlitePathOrPostgresUrl` before anything is created.
 */
export async function openStore(
  databaseUrl: string,
  options: OpenStoreOptions = {},
): Promise<LedgerStore> {
  const target = sqlitePathOrPostgresUrl(databaseUrl);
  if (isPostgresUrl(target)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(target);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return new SqliteStore(target, { maxBatch: options.sqliteMaxBatch });
}
