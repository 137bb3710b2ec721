import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultCatalog, parseCatalog, type Catalog } from './domain/catalog.js';
import { APP_DEFAULTS } from './app.js';
import { isPostgresUrl, STORE_DEFAULTS } from './store/options.js';
import { WEBHOOK_DEFAULTS } from './webhooks/delivery.js';

export interface ServerConfig {
  /**
   * `NODE_ENV=production`: the demo is off and the payment gateway must be
   * named, unless the environment says otherwise.
   */
  production: boolean;
  /** The address to listen on (`HOST`, default 127.0.0.1). */
  host: string;
  port: number;
  /** A SQLite file path (a `file:` URL already made one), or a postgres:// URL. */
  databaseUrl: string;
  /** The payment gateway (`MINUTE_TOPUP_PAYMENTS`): `test` (charges nobody) or `stripe`. */
  payments: 'test' | 'stripe';
  /** With `payments: 'stripe'`: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_API_BASE. */
  stripe: StripeConfig | null;
  secretKey: string;
  /** True when no secret key was configured and one was made up for this run. */
  secretKeyGenerated: boolean;
  corsOrigins: string[];
  catalog: Catalog;
  lowThreshold: number;
  /** Accounts whose cards the test payment gateway declines. */
  declineAccounts: string[];
  /** Serve the demo dashboard and seed its accounts (MINUTE_TOPUP_DEMO; on, except in production). */
  demo: boolean;
  /** SQLite group commit: transactions per COMMIT at most (MINUTE_TOPUP_SQLITE_MAX_BATCH; 1 = off). */
  sqliteMaxBatch: number;
  /** Where SQLite's fsync runs (MINUTE_TOPUP_SQLITE_FSYNC: `background`, the default, or `inline`). */
  sqliteFsync: 'background' | 'inline';
  /** PostgreSQL connections per process (PGPOOL_MAX). */
  postgresPoolMax: number;
  /** PostgreSQL pipeline mode (PG_PIPELINE; `0`/`off` turns it off). */
  postgresPipeline: boolean;
  /**
   * Widget tokens minted, purchases made and widget reads per account and
   * minute, per process (MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE,
   * …_PURCHASES_PER_MINUTE, …_READS_PER_MINUTE; `0` or `Infinity` turns a
   * limit off).
   */
  rateLimits: { sessionsPerMinute: number; purchasesPerMinute: number; readsPerMinute: number };
  /**
   * Webhooks to the host (MINUTE_TOPUP_WEBHOOK_URL and _SECRET, both or
   * neither; MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS): null when off.
   */
  webhooks: WebhookConfig | null;
  /** MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS, also when the demo receives the webhooks itself. */
  webhookRetryBaseMs: number;
}

export interface WebhookConfig {
  url: string;
  /** `whsec_` and base64: the Standard Webhooks signing secret. */
  secret: string;
  /** The first retry's delay, doubling after (default 30000). */
  retryBaseMs: number;
}

export interface StripeConfig {
  secretKey: string;
  webhookSecret: string;
  /** Where the SDK sends its requests instead of api.stripe.com (stripe-mock, a test double). */
  apiBase?: string;
}

/**
 * A configuration value the operator has to fix: the message is one sentence
 * that names the variable (`variable`), fit for one line on stderr.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    // One line, whatever a quoted value or a system error brought in.
    super(message.replace(/\s*[\r\n]+\s*/g, ' '));
    this.name = 'ConfigError';
  }
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A value quoted for a message, cut short when long. */
const quoted = (raw: string) => JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}…` : raw);

/** A whole number from the environment, at least `min`; `Infinity` too when `orInfinity`. */
function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  { min, max = Number.MAX_SAFE_INTEGER, orInfinity = false }: WholeNumberRange,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (
    (orInfinity && value === Infinity) ||
    (/^[+-]?\d+$/.test(raw) && Number.isSafeInteger(value) && value >= min && value <= max)
  ) {
    return value;
  }
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  throw new ConfigError(
    name,
    `${name} must be a whole number ${range}${orInfinity ? ' (or Infinity)' : ''}, got ${quoted(raw)}.`,
  );
}

interface WholeNumberRange {
  min: number;
  max?: number;
  orInfinity?: boolean;
}

/** `on`/`off` and their usual spellings; anything else is a configuration error. */
function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (/^(1|on|true|yes)$/i.test(raw)) return true;
  if (/^(0|off|false|no)$/i.test(raw)) return false;
  throw new ConfigError(name, `${name} must be "on" or "off", got ${quoted(raw)}.`);
}

function sqliteFsync(env: NodeJS.ProcessEnv): 'background' | 'inline' {
  const name = 'MINUTE_TOPUP_SQLITE_FSYNC';
  const raw = env[name]?.trim();
  if (!raw) return STORE_DEFAULTS.sqliteFsync;
  if (raw === 'background' || raw === 'inline') return raw;
  throw new ConfigError(name, `${name} must be "background" or "inline", got ${quoted(raw)}.`);
}

function fraction(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (value >= 0 && value <= 1) return value;
  throw new ConfigError(name, `${name} must be a fraction between 0 and 1, got ${quoted(raw)}.`);
}

function catalogFrom(env: NodeJS.ProcessEnv): Catalog {
  const file = env.MINUTE_TOPUP_CATALOG?.trim();
  if (!file) return defaultCatalog;
  const name = 'MINUTE_TOPUP_CATALOG';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(name, `${name} names a file that cannot be read: ${file} (${code}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(name, `${name} (${file}) is not JSON: ${(error as Error).message}`);
  }
  try {
    return parseCatalog(json);
  } catch (error) {
    throw new ConfigError(
      name,
      `${name} (${file}) is not a valid catalog: ${(error as Error).message}`,
    );
  }
}

function secretKeyFrom(env: NodeJS.ProcessEnv, production: boolean): string {
  const name = 'MINUTE_TOPUP_SECRET_KEY';
  const secretKey = env[name] ?? '';
  if (secretKey !== '' && !/^[\x21-\x7e]{16,4096}$/.test(secretKey)) {
    throw new ConfigError(
      name,
      `${name} must be 16 or more visible ASCII characters (no spaces), got ${secretKey.length} characters.`,
    );
  }
  if (secretKey === '' && production) {
    // A made-up key printed to the log is a demo convenience, not a production one.
    throw new ConfigError(name, `${name} must be set in production (NODE_ENV=production).`);
  }
  return secretKey;
}

function paymentsFrom(env: NodeJS.ProcessEnv, production: boolean): 'test' | 'stripe' {
  const name = 'MINUTE_TOPUP_PAYMENTS';
  const raw = env[name]?.trim();
  if (!raw) {
    if (!production) return 'test';
    throw new ConfigError(
      name,
      `${name} must be set in production (NODE_ENV=production): "stripe" takes payments with Stripe, "test" runs the test gateway, which charges nobody.`,
    );
  }
  if (raw === 'test' || raw === 'stripe') return raw;
  throw new ConfigError(name, `${name} must be "stripe" or "test", got ${quoted(raw)}.`);
}

/** The webhook settings, each checked: both the address and the secret, or neither. */
function webhooksFrom(env: NodeJS.ProcessEnv): WebhookConfig | null {
  const url = env.MINUTE_TOPUP_WEBHOOK_URL?.trim() ?? '';
  const secret = env.MINUTE_TOPUP_WEBHOOK_SECRET?.trim() ?? '';
  if (!url && !secret) return null;
  if (!url) {
    throw new ConfigError(
      'MINUTE_TOPUP_WEBHOOK_URL',
      'MINUTE_TOPUP_WEBHOOK_URL must be set with MINUTE_TOPUP_WEBHOOK_SECRET (where the webhooks go).',
    );
  }
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new ConfigError(
      'MINUTE_TOPUP_WEBHOOK_URL',
      `MINUTE_TOPUP_WEBHOOK_URL must be an http(s) URL, got ${quoted(url)}.`,
    );
  }
  if (!secret) {
    throw new ConfigError(
      'MINUTE_TOPUP_WEBHOOK_SECRET',
      'MINUTE_TOPUP_WEBHOOK_SECRET must be set with MINUTE_TOPUP_WEBHOOK_URL (the whsec_… secret the webhooks are signed with).',
    );
  }
  if (!/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) {
    throw new ConfigError(
      'MINUTE_TOPUP_WEBHOOK_SECRET',
      'MINUTE_TOPUP_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by base64 of at least 12 random bytes.',
    );
  }
  return { url, secret, retryBaseMs: webhookRetryBaseMs(env) };
}

/** The first retry's delay (MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS), for the host's endpoint or the demo's. */
function webhookRetryBaseMs(env: NodeJS.ProcessEnv): number {
  return wholeNumber(env, 'MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS', WEBHOOK_DEFAULTS.retryBaseMs, {
    min: 1,
    max: 3_600_000,
  });
}

/** The Stripe settings, each checked: required with `MINUTE_TOPUP_PAYMENTS=stripe`. */
function stripeFrom(env: NodeJS.ProcessEnv): StripeConfig {
  const required = (name: string, prefixes: string[], what: string) => {
    const value = env[name]?.trim() ?? '';
    if (!value) {
      throw new ConfigError(
        name,
        `${name} must be set with MINUTE_TOPUP_PAYMENTS=stripe (${what}).`,
      );
    }
    if (!prefixes.some((p) => value.startsWith(p)) || /\s/.test(value)) {
      throw new ConfigError(
        name,
        `${name} must be ${what}, starting with ${prefixes.join(' or ')}.`,
      );
    }
    return value;
  };
  const secretKey = required(
    'STRIPE_SECRET_KEY',
    ['sk_', 'rk_'],
    "your Stripe account's secret key",
  );
  const webhookSecret = required(
    'STRIPE_WEBHOOK_SECRET',
    ['whsec_'],
    'the signing secret of the webhook endpoint you registered',
  );
  const rawBase = env.STRIPE_API_BASE?.trim();
  if (!rawBase) return { secretKey, webhookSecret };
  let url: URL | undefined;
  try {
    url = new URL(rawBase);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(
      'STRIPE_API_BASE',
      `STRIPE_API_BASE must be an http(s) URL without a path, e.g. http://127.0.0.1:12111, got ${quoted(rawBase)}.`,
    );
  }
  return { secretKey, webhookSecret, apiBase: url.origin };
}

/** Only a SQLite file path, a `file:` URL, or a PostgreSQL URL: any other scheme is refused. */
function databaseUrlFrom(env: NodeJS.ProcessEnv): string {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return './data/minute-topup.db';
  return sqlitePathOrPostgresUrl(raw);
}

/**
 * What a `DATABASE_URL` names: a postgres:// URL as it is, a `file:` URL as a
 * SQLite file path, a plain path as it is. Any other scheme (`mysql://…`) is a
 * `ConfigError`, rather than a SQLite file in a folder named after the scheme.
 *
 * @example
 * sqlitePathOrPostgresUrl('file:///var/lib/topup/ledger.db'); // '/var/lib/topup/ledger.db'
 * sqlitePathOrPostgresUrl('file:data/ledger.db'); // 'data/ledger.db'
 * sqlitePathOrPostgresUrl('mysql://db/topup'); // throws ConfigError
 */
function sqlitePathOrPostgresUrl(url: string): string {
  const name = 'DATABASE_URL';
  if (isPostgresUrl(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError(name, `${name} is not a valid PostgreSQL URL.`);
    }
    return url;
  }
  if (/^file:/i.test(url)) {
    if (/[?#]/.test(url)) {
      throw new ConfigError(name, `${name}: a file: URL cannot carry a query or a fragment.`);
    }
    try {
      // file:///abs/path and file://localhost/abs/path; file:relative/path stays relative.
      const path = /^file:\/\//i.test(url)
        ? fileURLToPath(url)
        : decodeURIComponent(url.slice('file:'.length));
      if (path) return path;
    } catch {
      // below
    }
    throw new ConfigError(name, `${name} is not a usable file: URL, got ${quoted(url)}.`);
  }
  // A scheme of two or more letters (one letter is a Windows drive, C:\…).
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1];
  if (scheme) {
    throw new ConfigError(
      name,
      `${name} must be a SQLite file path, a file: URL or a postgres:// URL, got a ${scheme}: URL.`,
    );
  }
  return url;
}

/**
 * Reads the server's configuration from the environment — every knob,
 * resolved once, so the server passes values on rather than falling back on
 * defaults of its own — with defaults that need no set-up outside
 * production. Throws a `ConfigError`:
 * one sentence naming the variable that is wrong.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const production = env.NODE_ENV?.trim() === 'production';
  const host = env.HOST?.trim() || '127.0.0.1';
  if (/\s|\//.test(host)) {
    throw new ConfigError('HOST', `HOST must be an address or host name, got ${quoted(host)}.`);
  }
  const port = wholeNumber(env, 'PORT', 8787, { min: 0, max: 65535 });
  const lowThreshold = fraction(env, 'MINUTE_TOPUP_LOW_THRESHOLD', APP_DEFAULTS.lowThreshold);
  const payments = paymentsFrom(env, production);
  const stripe = payments === 'stripe' ? stripeFrom(env) : null;
  // The demo seeds its accounts with purchases: it runs on the test gateway only.
  const demo = onOff(env, 'MINUTE_TOPUP_DEMO', !production && payments === 'test');
  if (demo && payments !== 'test') {
    throw new ConfigError(
      'MINUTE_TOPUP_DEMO',
      'MINUTE_TOPUP_DEMO=on needs MINUTE_TOPUP_PAYMENTS=test: the demo buys with the test gateway.',
    );
  }
  const secretKey = secretKeyFrom(env, production);
  const databaseUrl = databaseUrlFrom(env);
  const catalog = catalogFrom(env);
  const rate = (name: string, fallback: number) =>
    wholeNumber(env, name, fallback, { min: 0, orInfinity: true });
  const limits = APP_DEFAULTS.rateLimits;
  return {
    production,
    host,
    port,
    databaseUrl,
    payments,
    stripe,
    secretKey: secretKey || `sk_demo_${crypto.randomUUID().replaceAll('-', '')}`,
    secretKeyGenerated: secretKey === '',
    corsOrigins: list(env.MINUTE_TOPUP_CORS_ORIGINS),
    catalog,
    lowThreshold,
    declineAccounts: list(env.MINUTE_TOPUP_DECLINE_ACCOUNTS),
    demo,
    sqliteMaxBatch: wholeNumber(
      env,
      'MINUTE_TOPUP_SQLITE_MAX_BATCH',
      STORE_DEFAULTS.sqliteMaxBatch,
      {
        min: 1,
      },
    ),
    sqliteFsync: sqliteFsync(env),
    postgresPoolMax: wholeNumber(env, 'PGPOOL_MAX', STORE_DEFAULTS.postgresPoolMax, { min: 1 }),
    postgresPipeline: onOff(env, 'PG_PIPELINE', STORE_DEFAULTS.postgresPipeline),
    webhooks: webhooksFrom(env),
    webhookRetryBaseMs: webhookRetryBaseMs(env),
    rateLimits: {
      sessionsPerMinute: rate('MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE', limits.sessionsPerMinute),
      purchasesPerMinute: rate('MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE', limits.purchasesPerMinute),
      readsPerMinute: rate('MINUTE_TOPUP_RATE_READS_PER_MINUTE', limits.readsPerMinute),
    },
  };
}
