/**
 * `npm run profile`: where a usage call over HTTP spends the API process's
 * CPU. Runs the API under `--cpu-prof` (SQLite by default; `-- postgres` for
 * PostgreSQL at DATABASE_URL or the local server), loads it with usage calls
 * as `npm run bench -- http` does (16 connections), stops it, and reads the
 * profile of the loaded seconds only: the share of each part of the work,
 * then the functions with the most time of their own. The `.cpuprofile` is
 * kept for Chrome DevTools.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshPostgresDatabase } from '../test/support/pg.js';
import { createAccounts, load, spawnServer, tempDir } from './util.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** What a frame's own time is spent on, by where its code lives. */
function part(frame: ProfileNode['callFrame']): string {
  const { url, functionName: fn } = frame;
  if (fn === '(idle)') return 'idle: every request waits (the disk, the database, the client)';
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8 and native code outside JavaScript';
  if (url.includes('/server/store/sqlite.ts') && fn === 'runBatch')
    return 'SQLite BEGIN, SAVEPOINTs, COMMIT (writes the WAL)';
  if (url.includes('/server/store/sqlite.ts') && fn === 'checkpoint') return 'SQLite checkpoints';
  if (url.includes('better-sqlite3/lib/methods/pragma')) return 'SQLite checkpoints';
  if (url.includes('/server/store/postgres') || url.includes('/node_modules/pg'))
    return 'PostgreSQL driver and statements (pg)';
  if (url.includes('/server/store/')) return "SQLite statements of the ledger's rows";
  if (url.includes('/server/ledger/') || url.includes('/server/domain/'))
    return 'ledger rules (TypeScript)';
  if (url.includes('/server/')) return 'our middleware and routes (auth, CORS, body, limits)';
  if (url.includes('/node_modules/zod/')) return 'zod validation';
  if (url.includes('/node_modules/@hono/node-server/')) return '@hono/node-server (Node ↔ fetch)';
  if (url.includes('/node_modules/hono/')) return 'Hono (router, context, validator)';
  if (url.startsWith('node:') || url === '')
    return 'Node: HTTP parsing, sockets, streams, promises';
  return `other: ${url.replace(/.*node_modules\//, '')}`;
}

/** Own time of native and Node frames goes to the part of our code that called them, if a store's. */
function shares(p: Profile, fromUs: number, toUs: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) return;
    total += dt;
    const node = byId.get(id) as ProfileNode;
    let name = part(node.callFrame);
    if (name.startsWith('Node:') || name.startsWith('V8')) {
      for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
        const caller = part((byId.get(up) as ProfileNode).callFrame);
        if (caller.startsWith('Node:') || caller.startsWith('V8')) continue;
        if (caller.startsWith('SQLite') || caller.startsWith('PostgreSQL')) name = caller;
        break;
      }
    }
    parts.set(name, (parts.get(name) ?? 0) + dt);
    const f = node.callFrame;
    const where = f.url.replace(/.*\/(node_modules|work\/[^/]+)\//, '').replace(/^file:\/\//, '');
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + dt);
  });
  const sorted = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, (100 * v) / total] as const);
  return { parts: sorted(parts), functions: sorted(functions), seconds: total / 1e6 };
}

const postgres = process.argv.includes('postgres');
const tmp = tempDir();
const profiles = join(tmp.dir, 'profiles');
mkdirSync(profiles);
const pgDatabase = postgres ? await freshPostgresDatabase() : null;
if (postgres && !pgDatabase) throw new Error('PostgreSQL is not reachable.');
const api = await spawnServer(
  'server/main.ts',
  {
    DATABASE_URL: pgDatabase?.url ?? join(tmp.dir, 'profile.db'),
    MINUTE_TOPUP_TEST_CHARGES_FILE: join(tmp.dir, 'charges.jsonl'),
  },
  '/v1/catalog',
  ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
);
await createAccounts(
  api.base,
  Array.from({ length: 10 }, (_, i) => `acct-${i}`),
);
await load([api.base], 'usage', { seconds: 2 }); // warm-up
const from = Date.now();
const run = await load([api.base], 'usage', { seconds: 6 });
const to = Date.now();
await api.stop();
await pgDatabase?.drop();
const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('the API wrote no profile');
const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as Profile;
// The profile's clock is the process's monotonic one: the loaded seconds are the
// last ones before shutdown, less the time it took to stop.
const stopUs = profile.endTime - (Date.now() - to) * 1000;
const { parts, functions, seconds } = shares(profile, stopUs - (to - from) * 1000, stopUs);
console.log(
  `\nUsage calls over HTTP on ${postgres ? 'PostgreSQL' : 'SQLite'}: ${run.perSecond.toFixed(0)} req/s under the profiler, p50 ${run.p50} ms; ${seconds.toFixed(1)} s of profile.\n`,
);
console.log('| share of the API process | spent on |\n| ---: | --- |');
for (const [name, share] of parts) console.log(`| ${share.toFixed(1)}% | ${name} |`);
console.log('\nOwn time, top 15 functions:');
for (const [name, share] of functions.slice(0, 15))
  console.log(`${share.toFixed(1).padStart(6)}%  ${name}`);
console.log(`\nProfile kept: ${join(profiles, file)}`);
