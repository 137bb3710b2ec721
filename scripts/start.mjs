#!/usr/bin/env node
/**
 * `npm start`: builds the widget when `dist/` is missing or older than its
 * sources, then runs the one Hono process that serves the API, the bundle
 * and the demo (on the embedded SQLite default unless DATABASE_URL says otherwise).
 *
 * For a supervisor it stands for the server: SIGTERM and SIGINT
 * are passed on to the server (or to the build, while it runs), and it exits
 * with the server's status — 128 + the signal's number when the server was
 * killed by one (137 for SIGKILL, 143 for SIGTERM).
 *
 * `MINUTE_TOPUP_START_BUILD=never` skips the build (an image that built at
 * build time; the test suites, which must not rebuild a `dist/` others read).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** The child that a signal to this process is passed on to. */
let current = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  // Between the build and the server there is no child: stop right here.
  process.on(signal, () =>
    current ? current.kill(signal) : process.exit(128 + constants.signals[signal]),
  );
}

/** Runs a child to its end; resolves with the status this process should exit with. */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    current = child;
    child.once('error', (error) => {
      console.error(`minute-topup: could not start ${command}: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      current = null;
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}

const bundle = 'dist/minute-topup.js';
/** Whether the bundle is missing or older than a source (walked only when a build may run). */
const stale = () =>
  !existsSync(bundle) ||
  statSync(bundle).mtimeMs <
    Math.max(
      newest('contract'),
      newest('widget'),
      newest('server'),
      statSync('vite.config.ts').mtimeMs,
    );
if (process.env.MINUTE_TOPUP_START_BUILD !== 'never' && stale()) {
  console.log('Building the widget bundle…');
  const status = await run('npm', ['run', '--silent', 'build']);
  if (status !== 0) process.exit(status);
}
process.exit(await run(process.execPath, ['--import', 'tsx', 'server/main.ts']));
