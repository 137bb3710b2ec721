/**
 * What opening a store takes beyond its URL, with the defaults `loadConfig`
 * and the stores fall back to: each defined once, here.
 */
export const STORE_DEFAULTS = {
  /** SQLite group commit: transactions per COMMIT at most (1: off). */
  sqliteMaxBatch: 64,
  /** Where SQLite's fsync runs: on libuv's thread pool (`background`) or in COMMIT (`inline`). */
  sqliteFsync: 'background' as 'background' | 'inline',
  /** PostgreSQL connections in each process's pool. */
  postgresPoolMax: 10,
  /** Send `BEGIN` with a transaction's first statement (node-postgres pipeline mode). */
  postgresPipeline: true,
} as const;

export interface OpenStoreOptions {
  sqliteMaxBatch?: number;
  sqliteFsync?: 'background' | 'inline';
  postgresPoolMax?: number;
  postgresPipeline?: boolean;
}

/** Whether a `DATABASE_URL` names PostgreSQL (else it is a SQLite file). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
