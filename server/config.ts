import { readFileSync } from 'node:fs';
import { defaultCatalog, parseCatalog, type Catalog } from './domain/catalog.js';
import { DEFAULT_RATE_LIMITS } from './http/rate-limit.js';

export interface ServerConfig {
  port: number;
  /** A SQLite file path, or a postgres:// URL. */
  databaseUrl: string;
  secretKey: string;
  /** True when no secret key was configured and one was made up for this run. */
  secretKeyGenerated: boolean;
  corsOrigins: string[];
  catalog: Catalog;
  lowThreshold: number;
  /** Accounts whose cards the test payment gateway declines. */
  declineAccounts: string[];
  /** Serve the demo dashboard and seed its accounts (MINUTE_TOPUP_DEMO, default on). */
  demo: boolean;
  /** SQLite group commit: transactions per COMMIT at most (MINUTE_TOPUP_SQLITE_MAX_BATCH; 1 = off). */
  sqliteMaxBatch: number;
  /**
   * Widget tokens minted and purchases made per account and minute, per
   * process (MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE, …_PURCHASES_PER_MINUTE;
   * `0` or `Infinity` turns a limit off).
   */
  rateLimits: { sessionsPerMinute: number; purchasesPerMinute: number };
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A whole number from the environment, at least `min`; `Infinity` too when `orInfinity`. */
function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  { min, orInfinity = false }: { min: number; orInfinity?: boolean },
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if ((orInfinity && value === Infinity) || (Number.isSafeInteger(value) && value >= min)) {
    return value;
  }
  throw new Error(
    `${name} must be a whole number ≥ ${min}${orInfinity ? ' (or Infinity)' : ''}, got "${raw}".`,
  );
}

/**
 * Reads the configuration of DESIGN §5 from the environment, with defaults
 * that need no set-up. Throws one sentence naming a bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const port = Number(env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number, got "${env.PORT}".`);
  }
  const lowThreshold = Number(env.MINUTE_TOPUP_LOW_THRESHOLD ?? 0.2);
  if (!(lowThreshold >= 0 && lowThreshold <= 1)) {
    throw new Error('MINUTE_TOPUP_LOW_THRESHOLD must be a fraction between 0 and 1.');
  }
  let catalog = defaultCatalog;
  if (env.MINUTE_TOPUP_CATALOG) {
    const text = readFileSync(env.MINUTE_TOPUP_CATALOG, 'utf8');
    catalog = parseCatalog(JSON.parse(text));
  }
  const secretKey = env.MINUTE_TOPUP_SECRET_KEY ?? '';
  if (secretKey !== '' && !/^[\x21-\x7e]{16,4096}$/.test(secretKey)) {
    throw new Error(
      'MINUTE_TOPUP_SECRET_KEY must be 16 or more visible ASCII characters (no spaces).',
    );
  }
  return {
    port,
    databaseUrl: env.DATABASE_URL || './data/minute-topup.db',
    secretKey: secretKey || `sk_demo_${crypto.randomUUID().replaceAll('-', '')}`,
    secretKeyGenerated: secretKey === '',
    corsOrigins: list(env.MINUTE_TOPUP_CORS_ORIGINS),
    catalog,
    lowThreshold,
    declineAccounts: list(env.MINUTE_TOPUP_DECLINE_ACCOUNTS),
    demo: !/^(0|off|false|no)$/i.test(env.MINUTE_TOPUP_DEMO ?? 'on'),
    sqliteMaxBatch: wholeNumber(env, 'MINUTE_TOPUP_SQLITE_MAX_BATCH', 64, { min: 1 }),
    rateLimits: {
      sessionsPerMinute: wholeNumber(
        env,
        'MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE',
        DEFAULT_RATE_LIMITS.sessionsPerMinute,
        { min: 0, orInfinity: true },
      ),
      purchasesPerMinute: wholeNumber(
        env,
        'MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE',
        DEFAULT_RATE_LIMITS.purchasesPerMinute,
        { min: 0, orInfinity: true },
      ),
    },
  };
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
