import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  killApi,
  ROOT,
  startApi,
  startReadyApi,
  stopAllApiProcesses,
  terminateApi,
  waitForOutput,
  waitUntilReady,
  type ApiOptions,
  type ApiProcess,
  type Exit,
} from '../support/api-process.js';
import { callApi } from '../support/http.js';
import { reportReliability } from '../support/reliability-report.js';

/**
 * Production mode, with real processes: NODE_ENV=production
 * turns the demo off and wants the payments named; every configuration an
 * operator can get wrong — and a port in use — is one line on stderr naming
 * the variable, exit status 1, and nothing created on disk (no database opened
 * or migrated); HOST is where it listens; `npm start` stands for the server
 * towards a supervisor (signals in, status out).
 */

const figures = { processes: 0, badConfigs: 0, oneLine: 0, nothingCreated: 0, failures: 0 };
const dirs: string[] = [];

after(async () => {
  await stopAllApiProcesses();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  reportReliability({
    tried: `Production mode and start-up errors: ${figures.badConfigs} bad configurations and a port in use, production with and without payments and demo, HOST, file: URLs, npm start's signals (${figures.processes} processes)`,
    figures: `${figures.oneLine}/${figures.badConfigs} refusals were one stderr line naming the variable with exit 1; ${figures.nothingCreated}/${figures.badConfigs} left nothing on disk; ${figures.failures} failures`,
    check:
      'exit 1, exactly one stderr line naming the variable, no stack, no database file; production serves /v1 and /widget without the demo; start.mjs forwards SIGTERM and exits with the server status (137 when SIGKILLed)',
    held:
      figures.failures === 0 &&
      figures.badConfigs > 0 &&
      figures.oneLine === figures.badConfigs &&
      figures.nothingCreated === figures.badConfigs,
  });
});

const track =
  (fn: () => Promise<void>): (() => Promise<void>) =>
  async () => {
    try {
      await fn();
    } catch (error) {
      figures.failures += 1;
      throw error;
    }
  };

/** A fresh, empty folder: the process's working directory and where its database goes. */
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-prod-'));
  dirs.push(dir);
  return dir;
}

/** Options for a process in `dir` (its cwd), its database and charge log inside it. */
async function optionsIn(
  dir: string,
  env: Record<string, string | undefined> = {},
): Promise<ApiOptions> {
  return {
    port: await freePort(),
    databaseUrl: join(dir, 'ledger.db'),
    chargesFile: join(dir, 'charges.jsonl'),
    cwd: dir,
    env,
  };
}

function launch(options: ApiOptions): ApiProcess {
  figures.processes += 1;
  return startApi(options);
}

/**
 * Starts a process that must refuse to start: exit 1, one line on stderr that
 * names `variable`, no stack trace, and nothing written in its folder.
 */
async function assertRefused(
  dir: string,
  options: ApiOptions,
  variable: string,
  label = variable,
): Promise<string> {
  figures.badConfigs += 1;
  const api = launch(options);
  // One that starts after all (or hangs) is stopped: it would never exit of itself.
  const started = waitUntilReady(api, 60_000).then(
    () => true,
    () => false,
  );
  const outcome = await Promise.race<Exit | 'started'>([
    api.exited,
    started.then((ok): Promise<Exit | 'started'> | 'started' => (ok ? 'started' : killApi(api))),
  ]);
  if (outcome === 'started') {
    await killApi(api);
    assert.fail(`${label}: the process started instead of refusing:\n${api.output()}`);
  }
  const exit = await api.exited;
  await started; // no probe left in flight once the test moves on
  const stderr = api.stderr();
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(exit.code, 1, `${label}: exit status 1\n${api.output()}`);
  assert.equal(lines.length, 1, `${label}: one line on stderr, got:\n${stderr}`);
  assert.ok(lines[0].includes(variable), `${label}: the line names ${variable}: ${lines[0]}`);
  assert.doesNotMatch(stderr, /^\s+at /m, `${label}: no stack trace`);
  figures.oneLine += 1;
  assert.deepEqual(readdirSync(dir), [], `${label}: nothing created in ${dir}`);
  assert.ok(!existsSync(options.databaseUrl), `${label}: no database file`);
  figures.nothingCreated += 1;
  return lines[0];
}

/** Runs `tasks` at most `n` at a time (processes on a loaded 2-core machine). */
async function inBatches<T>(tasks: (() => Promise<T>)[], n = 3): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  // Every task runs to its end before the test does, even after a failure.
  const settled = await Promise.allSettled(Array.from({ length: n }, worker));
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return results;
}

const get = async (base: string, path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(base + path, { headers, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
};

/** Stripe payments, configured (nothing is sent to Stripe by the tests that use this). */
const STRIPE = {
  MINUTE_TOPUP_PAYMENTS: 'stripe',
  STRIPE_SECRET_KEY: 'sk_test_production_suite',
  STRIPE_WEBHOOK_SECRET: 'whsec_production_suite',
  STRIPE_API_BASE: 'http://127.0.0.1:9',
};

before(() => {
  // The bundle route serves dist/ as built; build it once if nobody has.
  if (!existsSync(join(ROOT, 'dist', 'minute-topup.js'))) {
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(build.status, 0, 'npm run build');
  }
});

describe('NODE_ENV=production', { timeout: 180_000 }, () => {
  it(
    'refuses to start on the test gateway unless MINUTE_TOPUP_PAYMENTS=test says so',
    track(async () => {
      const dir = freshDir();
      const line = await assertRefused(
        dir,
        await optionsIn(dir, { NODE_ENV: 'production', MINUTE_TOPUP_DEMO: undefined }),
        'MINUTE_TOPUP_PAYMENTS',
      );
      assert.match(line, /production/);
    }),
  );

  it(
    'with MINUTE_TOPUP_PAYMENTS=test serves the API and the widget, and no demo',
    track(async () => {
      const dir = freshDir();
      const api = await startReadyApi(
        await optionsIn(dir, {
          NODE_ENV: 'production',
          MINUTE_TOPUP_PAYMENTS: 'test',
          MINUTE_TOPUP_DEMO: undefined,
        }),
      );
      figures.processes += 1;
      try {
        assert.equal((await callApi(api.base, 'GET', '/v1/catalog')).status, 200);
        const put = await callApi(api.base, 'PUT', '/v1/accounts/acme', { planId: 'starter' });
        assert.equal(put.status, 201);
        for (const path of ['/demo/billing', '/demo/partner', '/partner/v1/catalog', '/']) {
          assert.equal((await get(api.base, path)).status, 404, path);
        }
        // Nothing seeded.
        assert.equal(
          (await callApi(api.base, 'GET', '/v1/accounts/demo-fresh/balance')).status,
          404,
        );
        const widget = await get(api.base, '/widget/minute-topup.js');
        assert.equal(widget.status, 200, widget.text.slice(0, 200));
        assert.equal(widget.headers.get('access-control-allow-origin'), '*');
        assert.equal(widget.headers.get('content-type'), 'text/javascript; charset=utf-8');
        const etag = widget.headers.get('etag') ?? '';
        assert.match(etag, /^"[\w-]+"$/);
        assert.ok(widget.headers.get('cache-control'));
        const again = await get(api.base, '/widget/minute-topup.js', { 'if-none-match': etag });
        assert.equal(again.status, 304);
        const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(widget.text)?.[1];
        assert.ok(map, 'the bundle names its source map');
        const mapPath = new URL(map, `${api.base}/widget/minute-topup.js`).pathname;
        assert.equal(mapPath, '/widget/minute-topup.js.map');
        assert.equal((await get(api.base, mapPath)).status, 200);
        assert.match(api.output(), /production/);
        assert.match(api.output(), /MINUTE_TOPUP_PAYMENTS=test/, 'says that nobody is charged');
        assert.equal(api.stderr(), '');
      } finally {
        await terminateApi(api);
      }
    }),
  );

  it(
    'with MINUTE_TOPUP_PAYMENTS=stripe takes payments with Stripe: webhooks served, no demo',
    track(async () => {
      const dir = freshDir();
      const api = await startReadyApi(
        await optionsIn(dir, { NODE_ENV: 'production', ...STRIPE, MINUTE_TOPUP_DEMO: undefined }),
      );
      figures.processes += 1;
      try {
        assert.match(
          api.output(),
          /Payments with Stripe; webhooks at http:\/\/\S+\/v1\/webhooks\/stripe/,
        );
        const put = await callApi(api.base, 'PUT', '/v1/accounts/acme', { planId: 'starter' });
        assert.equal(put.status, 201);
        // No customer linked: refused before any call to Stripe (none is reachable here).
        const buy = await callApi(
          api.base,
          'POST',
          '/v1/accounts/acme/purchases',
          { packageId: 'small' },
          { 'idempotency-key': 'k1' },
        );
        assert.equal(buy.status, 402, JSON.stringify(buy.body));
        assert.equal(buy.body.error.code, 'payment_method_required');
        const unsigned = await fetch(`${api.base}/v1/webhooks/stripe`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"id":"evt_1","type":"payment_intent.succeeded"}',
        });
        assert.equal(unsigned.status, 400);
        assert.equal((await unsigned.json()).error.code, 'invalid_signature');
        assert.equal((await get(api.base, '/demo/billing')).status, 404);
        assert.equal(api.stderr(), '');
      } finally {
        await terminateApi(api);
      }
    }),
  );

  it(
    'serves the demo again with MINUTE_TOPUP_DEMO=on; outside production the demo is on by default',
    track(async () => {
      const cases: Record<string, string | undefined>[] = [
        { NODE_ENV: 'production', MINUTE_TOPUP_PAYMENTS: 'test', MINUTE_TOPUP_DEMO: 'on' },
        { NODE_ENV: undefined, MINUTE_TOPUP_DEMO: undefined },
      ];
      for (const env of cases) {
        const dir = freshDir();
        // The demo serves its pages relative to the working directory: the project's.
        const api = await startReadyApi({ ...(await optionsIn(dir, env)), cwd: ROOT });
        figures.processes += 1;
        try {
          // Seeding runs before the API answers.
          assert.equal((await get(api.base, '/demo/billing')).status, 200, JSON.stringify(env));
          const seeded = await callApi(api.base, 'GET', '/v1/accounts/demo-fresh/balance');
          assert.equal(seeded.status, 200, JSON.stringify(env));
        } finally {
          await terminateApi(api);
        }
      }
    }),
  );
});

describe('a bad configuration', { timeout: 300_000 }, () => {
  it(
    'is one line on stderr naming the variable, exit 1, before any database is created',
    track(async () => {
      const catalogs = freshDir();
      const notJson = join(catalogs, 'not-json.json');
      writeFileSync(notJson, '{ "packages": [');
      const invalid = join(catalogs, 'invalid.json');
      writeFileSync(invalid, JSON.stringify({ packages: 'none' }));
      const folder = join(catalogs, 'a-folder');
      mkdirSync(folder);
      const cases: [string, Record<string, string | undefined>][] = [
        ['MINUTE_TOPUP_SECRET_KEY', { MINUTE_TOPUP_SECRET_KEY: 'too-short' }],
        ['MINUTE_TOPUP_SECRET_KEY', { MINUTE_TOPUP_SECRET_KEY: 'has spaces in it, 16+ chars' }],
        [
          'MINUTE_TOPUP_SECRET_KEY',
          {
            NODE_ENV: 'production',
            MINUTE_TOPUP_PAYMENTS: 'test',
            MINUTE_TOPUP_SECRET_KEY: undefined,
          },
        ],
        ['PORT', { PORT: 'eighty' }],
        ['PORT', { PORT: '70000' }],
        ['PORT', { PORT: '80.5' }],
        ['MINUTE_TOPUP_LOW_THRESHOLD', { MINUTE_TOPUP_LOW_THRESHOLD: '2' }],
        ['MINUTE_TOPUP_LOW_THRESHOLD', { MINUTE_TOPUP_LOW_THRESHOLD: 'low' }],
        ['MINUTE_TOPUP_RATE_READS_PER_MINUTE', { MINUTE_TOPUP_RATE_READS_PER_MINUTE: '-1' }],
        ['MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE', { MINUTE_TOPUP_RATE_PURCHASES_PER_MINUTE: 'x' }],
        ['MINUTE_TOPUP_SQLITE_MAX_BATCH', { MINUTE_TOPUP_SQLITE_MAX_BATCH: '0' }],
        ['MINUTE_TOPUP_SQLITE_FSYNC', { MINUTE_TOPUP_SQLITE_FSYNC: 'sometimes' }],
        ['MINUTE_TOPUP_CATALOG', { MINUTE_TOPUP_CATALOG: join(catalogs, 'missing.json') }],
        ['MINUTE_TOPUP_CATALOG', { MINUTE_TOPUP_CATALOG: notJson }],
        ['MINUTE_TOPUP_CATALOG', { MINUTE_TOPUP_CATALOG: invalid }],
        ['MINUTE_TOPUP_CATALOG', { MINUTE_TOPUP_CATALOG: folder }],
        ['MINUTE_TOPUP_PAYMENTS', { MINUTE_TOPUP_PAYMENTS: 'paypal' }],
        ['STRIPE_SECRET_KEY', { ...STRIPE, STRIPE_SECRET_KEY: undefined }],
        ['STRIPE_SECRET_KEY', { ...STRIPE, STRIPE_SECRET_KEY: 'pk_test_publishable' }],
        ['STRIPE_WEBHOOK_SECRET', { ...STRIPE, STRIPE_WEBHOOK_SECRET: undefined }],
        ['STRIPE_WEBHOOK_SECRET', { ...STRIPE, STRIPE_WEBHOOK_SECRET: 'secret' }],
        ['STRIPE_API_BASE', { ...STRIPE, STRIPE_API_BASE: 'ftp://127.0.0.1:12111' }],
        ['STRIPE_API_BASE', { ...STRIPE, STRIPE_API_BASE: 'http://127.0.0.1:12111/v1' }],
        ['MINUTE_TOPUP_DEMO', { ...STRIPE, MINUTE_TOPUP_DEMO: 'on' }],
        ['MINUTE_TOPUP_DEMO', { MINUTE_TOPUP_DEMO: 'sometimes' }],
        ['HOST', { HOST: 'not a host' }],
        ['MINUTE_TOPUP_WEBHOOK_URL', { MINUTE_TOPUP_WEBHOOK_SECRET: `whsec_${'A'.repeat(32)}` }],
        [
          'MINUTE_TOPUP_WEBHOOK_URL',
          {
            MINUTE_TOPUP_WEBHOOK_URL: 'ftp://host.example/hooks',
            MINUTE_TOPUP_WEBHOOK_SECRET: `whsec_${'A'.repeat(32)}`,
          },
        ],
        ['MINUTE_TOPUP_WEBHOOK_SECRET', { MINUTE_TOPUP_WEBHOOK_URL: 'https://host.example/hooks' }],
        [
          'MINUTE_TOPUP_WEBHOOK_SECRET',
          {
            MINUTE_TOPUP_WEBHOOK_URL: 'https://host.example/hooks',
            MINUTE_TOPUP_WEBHOOK_SECRET: 'secret',
          },
        ],
        [
          'MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS',
          {
            MINUTE_TOPUP_WEBHOOK_URL: 'https://host.example/hooks',
            MINUTE_TOPUP_WEBHOOK_SECRET: `whsec_${'A'.repeat(32)}`,
            MINUTE_TOPUP_WEBHOOK_RETRY_BASE_MS: '0',
          },
        ],
        ['DATABASE_URL', { DATABASE_URL: 'mysql://db.internal/topup' }],
        ['DATABASE_URL', { DATABASE_URL: 'sqlite://ledger.db' }],
        ['DATABASE_URL', { DATABASE_URL: 'file:ledger.db?mode=ro' }],
      ];
      await inBatches(
        cases.map(([variable, env]) => async () => {
          const dir = freshDir();
          const options = await optionsIn(dir, env);
          if (env.DATABASE_URL) options.databaseUrl = env.DATABASE_URL;
          // Relative paths (`./mysql:/…`) would land in the working directory: it stays empty.
          await assertRefused(dir, options, variable, `${variable}=${JSON.stringify(env)}`);
        }),
      );
    }),
  );

  it(
    'a port in use is one line naming PORT, exit 1, and the database is never created',
    track(async () => {
      const dir = freshDir();
      const options = await optionsIn(dir);
      // Whoever holds the port hangs up at once (the readiness probe finds no API there).
      const taken: Server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => taken.listen(options.port, '127.0.0.1', resolve));
      try {
        const line = await assertRefused(dir, options, 'PORT', 'port in use');
        assert.match(line, new RegExp(`${options.port}.*in use`));
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    }),
  );
});

describe('DATABASE_URL', { timeout: 120_000 }, () => {
  it(
    'takes a file: URL, absolute or relative, as the SQLite file it names',
    track(async () => {
      const dir = freshDir();
      const absolute = join(dir, 'absolute.db');
      const cases = [pathToFileURL(absolute).href, 'file:relative.db'];
      for (const url of cases) {
        const options = await optionsIn(dir, { DATABASE_URL: url });
        options.databaseUrl = url;
        const api = await startReadyApi(options);
        figures.processes += 1;
        try {
          const put = await callApi(api.base, 'PUT', '/v1/accounts/acme', { planId: 'starter' });
          assert.ok(put.status === 201 || put.status === 200, url);
        } finally {
          await terminateApi(api);
        }
      }
      assert.ok(existsSync(absolute), 'file:///… is the absolute path');
      assert.ok(existsSync(join(dir, 'relative.db')), 'file:relative.db is relative to the cwd');
      assert.ok(!readdirSync(dir).some((name) => name.startsWith('file:')), 'no "file:" folder');
    }),
  );
});

describe('HOST', { timeout: 120_000 }, () => {
  it(
    'is the address it listens on, printed in the start-up line',
    track(async () => {
      const dir = freshDir();
      const options = { ...(await optionsIn(dir)), host: '127.0.0.2' };
      const api = await startReadyApi(options);
      figures.processes += 1;
      try {
        assert.equal(api.base, `http://127.0.0.2:${options.port}`);
        assert.equal((await callApi(api.base, 'GET', '/v1/catalog')).status, 200);
        assert.match(api.output(), new RegExp(`http://127\\.0\\.0\\.2:${options.port}/v1`));
        // Not on 127.0.0.1: that address is not bound.
        const code = await new Promise<string>((resolve) => {
          const socket = connect(options.port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve('connected');
          });
          socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        });
        assert.equal(code, 'ECONNREFUSED');
      } finally {
        await terminateApi(api);
      }
    }),
  );
});

describe('npm start (scripts/start.mjs)', { timeout: 180_000 }, () => {
  /** start.mjs as `npm start` runs it, without rebuilding the dist/ other suites read. */
  async function startScript(command: { file: string; args: string[] }) {
    const dir = freshDir();
    const options = await optionsIn(dir, { MINUTE_TOPUP_START_BUILD: 'never' });
    const api = launch({ ...options, cwd: ROOT, command });
    const [, pid] = await waitForOutput(api, /minute-topup API on \S+ \([^)]*pid (\d+)\)/);
    return { api, serverPid: Number(pid), options };
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const node = { file: process.execPath, args: [join(ROOT, 'scripts', 'start.mjs')] };

  it(
    'passes SIGTERM on to the server and exits with its status (0 after a clean shutdown)',
    track(async () => {
      const { api, serverPid } = await startScript(node);
      assert.notEqual(serverPid, api.child.pid, 'the server is a child process');
      api.child.kill('SIGTERM');
      const exit = await api.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, api.output());
      assert.match(api.output(), /SIGTERM: finishing in-flight requests/);
      assert.ok(!alive(serverPid), 'the server is gone');
    }),
  );

  it(
    'passes SIGINT on too',
    track(async () => {
      const { api, serverPid } = await startScript(node);
      api.child.kill('SIGINT');
      assert.deepEqual(await api.exited, { code: 0, signal: null }, api.output());
      assert.match(api.output(), /SIGINT: finishing/);
      assert.ok(!alive(serverPid));
    }),
  );

  it(
    'exits 137 when the server is SIGKILLed, and 1 when the server refuses its configuration',
    track(async () => {
      const { api, serverPid } = await startScript(node);
      process.kill(serverPid, 'SIGKILL');
      assert.deepEqual(await api.exited, { code: 137, signal: null }, api.output());

      const dir = freshDir();
      const refused = launch({
        ...(await optionsIn(dir, { MINUTE_TOPUP_START_BUILD: 'never', PORT: 'none' })),
        cwd: ROOT,
        command: node,
      });
      assert.deepEqual(await refused.exited, { code: 1, signal: null }, refused.output());
      assert.match(refused.stderr(), /PORT/);
    }),
  );

  const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  it(
    'through npm: SIGTERM to npm reaches the server, and npm exits with its status',
    track(async () => {
      // `sh -c "node …"` (dash) does not pass npm's SIGTERM on: the script must `exec`.
      assert.match(script, /^exec /, `package.json "start" is "${script}", not "exec …"`);
      const { api, serverPid } = await startScript({ file: 'npm', args: ['start'] });
      api.child.kill('SIGTERM');
      assert.deepEqual(await api.exited, { code: 0, signal: null }, api.output());
      assert.ok(!alive(serverPid), 'the server is gone');

      const again = await startScript({ file: 'npm', args: ['start'] });
      process.kill(again.serverPid, 'SIGKILL');
      const exit = await again.api.exited;
      assert.equal(exit.code, 137, again.api.output());
    }),
  );
});
