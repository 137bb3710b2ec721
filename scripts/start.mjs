#!/usr/bin/env node
/**
 * `npm start`: builds the widget when `dist/` is missing or older than its
 * sources, then runs the one Hono process that serves the API, the bundle
 * and the demo (on the embedded SQLite default unless DATABASE_URL says otherwise).
 */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const bundle = 'dist/minute-topup.js';
const sources = Math.max(newest('widget'), newest('server'), statSync('vite.config.ts').mtimeMs);
if (!existsSync(bundle) || statSync(bundle).mtimeMs < sources) {
  console.log('Building the widget bundle…');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => process.exit(code ?? 0));
