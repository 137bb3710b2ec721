import { isPostgresUrl, type OpenStoreOptions } from './options.js';
import type { LedgerStore } from './types.js';

/**
 * Opens the store a `DATABASE_URL` names, as `loadConfig` resolved it (a
 * `file:` URL already made a path, any other scheme refused): PostgreSQL for
 * postgres:// URLs, else a SQLite file. Only the store asked for is loaded.
 */
export async function openStore(
  databaseUrl: string,
  options: OpenStoreOptions = {},
): Promise<LedgerStore> {
  if (isPostgresUrl(databaseUrl)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(databaseUrl, {
      poolMax: options.postgresPoolMax,
      pipeline: options.postgresPipeline,
    });
  }
  const { SqliteStore } = await import('./sqlite.js');
  return new SqliteStore(databaseUrl, {
    maxBatch: options.sqliteMaxBatch,
    fsync: options.sqliteFsync,
  });
}
