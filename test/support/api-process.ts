import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { freePort } from './net.js';
import { API_SECRET } from './http.js';
import { PostgresStore } from '../../server/store/postgres.js';
import { SqliteStore } from '../../server/store/sqlite.js';
import type { LedgerStore } from '../../server/store/types.js';
import { freshPostgresDatabase, type FreshDatabase } from './pg.js';

/**
 * Real API processes (`server/main.ts`) for the reliability suites: start one
 * on a database, wait until it answers, SIGKILL or SIGTERM it, start it again
 * on the same database and port. Every process started here is remembered, so
 * an `after` hook can end whatever is left with `stopAllApiProcesses()`.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'server', 'main.ts');
const TSX = import.meta.resolve('tsx');

const live = new Set<ChildProcess>();

export interface ApiOptions {
  port: number;
  databaseUrl: string;
  /** The test gateway's charge log (`MINUTE_TOPUP_TEST_CHARGES_FILE`). */
  chargesFile: string;
  /**
   * Extra environment, e.g. the test-only fault injections of `server/main.ts`;
   * `undefined` removes a variable this helper would set.
   */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** The address the process listens on and is called at (`HOST`; 127.0.0.1). */
  host?: string;
  /**
   * What to run instead of `node --import tsx server/main.ts`, e.g.
   * `{ file: process.execPath, args: ['scripts/start.mjs'] }` (same environment).
   */
  command?: { file: string; args: string[] };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ApiProcess {
  base: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
  /** What it wrote to stderr alone. */
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
}

/** Starts `server/main.ts` (no demo, fixed secret key); see `waitUntilReady`. */
export function startApi(options: ApiOptions): ApiProcess {
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(inherited)) {
    // No catalog, declines or fault injections from the caller's shell.
    if (name.startsWith('MINUTE_TOPUP_')) delete inherited[name];
  }
  // Development mode on the loopback address unless a test says otherwise.
  delete inherited.NODE_ENV;
  delete inherited.HOST;
  delete inherited.NODE_TEST_CONTEXT; // the child is a server, not a test file
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PORT: String(options.port),
    DATABASE_URL: options.databaseUrl,
    MINUTE_TOPUP_SECRET_KEY: API_SECRET,
    MINUTE_TOPUP_DEMO: 'off',
    MINUTE_TOPUP_TEST_CHARGES_FILE: options.chargesFile,
    // The load the suites send is far beyond a real account's purchases per minute.
    MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE: '0',
    MINUTE_TOPUP_RATE_SESSIONS_PER_MINUTE: '0',
    MINUTE_TOPUP_RATE_READS_PER_MINUTE: '0',
    TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
    ...(options.host ? { HOST: options.host } : {}),
    ...options.env,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const { file, args } = options.command ?? {
    file: process.execPath,
    args: ['--import', TSX, MAIN],
  };
  const child = spawn(file, args, {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => {
    output += d;
    stderr += d;
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    base: `http://${options.host ?? '127.0.0.1'}:${options.port}`,
    child,
    output: () => output,
    stderr: () => stderr,
    exited,
  };
}

/**
 * Resolves with the output once it matches `pattern` (checked as output
 * arrives); rejects, with the output, if the process exits first or after
 * `timeoutMs`.
 */
export function waitForOutput(
  api: ApiProcess,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(api.output());
      if (!match) return false;
      done();
      resolve(match);
      return true;
    };
    const onExit = () => {
      // The last output may arrive just after the exit event.
      setImmediate(() => {
        if (check()) return;
        done();
        reject(new Error(`exited before ${pattern}:\n${api.output()}`));
      });
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${pattern} after ${timeoutMs} ms:\n${api.output()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      api.child.stdout?.off('data', check);
      api.child.stderr?.off('data', check);
      api.child.off('exit', onExit);
    };
    if (check()) return;
    // Listeners added after `startApi`'s, so the output already holds the chunk.
    api.child.stdout?.on('data', check);
    api.child.stderr?.on('data', check);
    api.child.once('exit', onExit);
  });
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Waits until the process answers `GET /v1/catalog`; throws (with its output) if it exits. */
export async function waitUntilReady(api: ApiProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running(api.child)) {
      throw new Error(
        `API process exited (${api.child.exitCode ?? api.child.signalCode}):\n${api.output()}`,
      );
    }
    try {
      const res = await fetch(`${api.base}/v1/catalog`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`API process at ${api.base} not ready after ${timeoutMs} ms:\n${api.output()}`);
}

/** Starts a process and waits until it answers. */
export async function startReadyApi(options: ApiOptions): Promise<ApiProcess> {
  const api = startApi(options);
  try {
    await waitUntilReady(api);
  } catch (error) {
    await killApi(api);
    throw error;
  }
  return api;
}

/** SIGKILLs the process (if still running) and waits until it is gone. */
export async function killApi(api: ApiProcess): Promise<Exit> {
  if (running(api.child)) api.child.kill('SIGKILL');
  return api.exited;
}

/**
 * SIGTERMs the process and waits for it to exit, SIGKILLing it after
 * `graceMs`. Returns how it exited and how long that took.
 */
export async function terminateApi(
  api: ApiProcess,
  graceMs = 10_000,
): Promise<Exit & { ms: number; forced: boolean }> {
  const started = Date.now();
  if (!running(api.child)) return { ...(await api.exited), ms: 0, forced: false };
  api.child.kill('SIGTERM');
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    api.child.kill('SIGKILL');
  }, graceMs);
  const exit = await api.exited;
  clearTimeout(timer);
  return { ...exit, ms: Date.now() - started, forced };
}

/** For `after` hooks: SIGKILLs every process started here that is still running. */
export async function stopAllApiProcesses(): Promise<void> {
  const exits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (!running(child)) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(exits);
}

/** A database for the process suites to run API processes on, with a scratch folder beside it. */
export interface LedgerTarget {
  name: 'SQLite' | 'PostgreSQL';
  databaseUrl: string;
  /** A scratch folder for the run (charge files, …). */
  dir: string;
  openStore(): Promise<LedgerStore>;
}

const scratchDirs: string[] = [];
const scratchDatabases: FreshDatabase[] = [];

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-proc-'));
  scratchDirs.push(dir);
  return dir;
}

/** A SQLite file in a fresh folder. */
export function sqliteTarget(): LedgerTarget {
  const dir = scratchDir();
  const databaseUrl = join(dir, 'ledger.db');
  return { name: 'SQLite', databaseUrl, dir, openStore: async () => new SqliteStore(databaseUrl) };
}

/** A fresh PostgreSQL database, or null when none is reachable (and none is required). */
export async function postgresTarget(): Promise<LedgerTarget | null> {
  const db = await freshPostgresDatabase();
  if (!db) return null;
  scratchDatabases.push(db);
  return {
    name: 'PostgreSQL',
    databaseUrl: db.url,
    dir: scratchDir(),
    openStore: () => PostgresStore.open(db.url, { poolMax: 2 }),
  };
}

/** Ends the API processes, then drops the databases and folders the targets made. */
export async function cleanUpTargets(): Promise<void> {
  await stopAllApiProcesses();
  for (const db of scratchDatabases.splice(0)) await db.drop().catch(() => undefined);
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
