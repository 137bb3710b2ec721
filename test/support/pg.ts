import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh PostgreSQL database per test run, on the local server the project's
 * machines and CI start (trust auth). Without a reachable server the
 * PostgreSQL suites are skipped, except where a server is required (CI).
 */

/** CI (and anyone who sets MINUTE_TOPUP_REQUIRE_PG=1) fails instead of skipping. */
export const requirePostgres =
  process.env.CI === 'true' || process.env.MINUTE_TOPUP_REQUIRE_PG === '1';

export const adminUrl =
  process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface FreshDatabase {
  /** A postgres:// URL naming the new, empty database. */
  url: string;
  /** Ends whatever is still connected to it and drops it. */
  drop(): Promise<void>;
}

let reportedUnreachable = false;

/** Is this a failure to reach the server at all (rather than a refusal by a running one)? */
function isUnreachable(error: unknown): boolean {
  const e = error as { code?: string; message?: string; errors?: unknown[] };
  if (Array.isArray(e?.errors) && e.errors.length > 0) return e.errors.every(isUnreachable);
  const codes = ['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENOENT', 'ECONNRESET'];
  if (e?.code && codes.includes(e.code)) return true;
  return /timeout|terminated unexpectedly/i.test(e?.message ?? '');
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/**
 * Creates `minute_topup_test_<random>` and returns its URL, or null (after one
 * line on stderr) when no server answers within ~2 s and none is required.
 */
export async function freshPostgresDatabase(): Promise<FreshDatabase | null> {
  let admin: pg.Client;
  try {
    admin = await adminClient();
  } catch (error) {
    if (requirePostgres || !isUnreachable(error)) {
      throw new Error(
        `PostgreSQL not reachable at ${safeUrl(adminUrl)}: ${(error as Error).message}` +
          (requirePostgres ? ' (required: CI or MINUTE_TOPUP_REQUIRE_PG=1)' : ''),
        { cause: error },
      );
    }
    if (!reportedUnreachable) {
      reportedUnreachable = true;
      process.stderr.write(
        `PostgreSQL not reachable at ${safeUrl(adminUrl)} — the PostgreSQL suites are skipped.\n`,
      );
    }
    return null;
  }
  const name = `minute_topup_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = await adminClient();
      try {
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
