import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/net.js';

export const SECRET = 'sk_bench_0123456789abcdef0123456789';
export const auth = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'minute-topup-bench-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every server a bench spawned and has not stopped: none outlives the bench, even when it fails. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns a TypeScript entry point as its own process with `PORT` set; resolves once `ready` answers. */
export async function spawnServer(
  entry: string,
  env: Record<string, string>,
  ready = '/v1/catalog',
  nodeArgs: string[] = [],
) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The widget bench's Vite build sets NODE_ENV=production in this process: the
  // servers measured run as a deployment would, with the test gateway named.
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    env: {
      ...process.env,
      MINUTE_TOPUP_PAYMENTS: 'test',
      PORT: String(port),
      MINUTE_TOPUP_SECRET_KEY: SECRET,
      MINUTE_TOPUP_DEMO: 'off',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(base + ready)).ok) break;
    } catch {
      if (i > 300 || child.exitCode !== null) throw new Error(`${entry} did not start`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Creates accounts on a real API (secret key). */
export async function createAccounts(base: string, ids: string[], planId = 'scale') {
  for (const id of ids) {
    const res = await fetch(`${base}/v1/accounts/${id}`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ planId }),
    });
    if (!res.ok) throw new Error(`PUT account ${id}: ${res.status}`);
  }
}

let callSeq = 0;

/** autocannon against one or more bases at once; returns summed requests/s and the median latency. */
export async function load(
  bases: string[],
  kind: 'usage' | 'balance' | 'floor' | 'ceiling',
  options: { connections?: number; seconds?: number; accounts?: number } = {},
) {
  const { connections = 16, seconds = 3, accounts = 10 } = options;
  const run = (base: string) =>
    autocannon({
      url: base,
      connections: Math.max(1, Math.round(connections / bases.length)),
      duration: seconds,
      requests: [
        {
          method: kind === 'balance' ? 'GET' : 'POST',
          headers: auth,
          setupRequest: (req) => {
            callSeq += 1;
            const account = `acct-${callSeq % accounts}`;
            if (kind === 'balance') return { ...req, path: `/v1/accounts/${account}/balance` };
            const body = JSON.stringify({ callId: `c${process.pid}-${callSeq}`, seconds: 7 });
            const path =
              kind === 'usage' ? `/v1/accounts/${account}/usage` : `/${kind}/usage/${account}`;
            return { ...req, path, body };
          },
        },
      ],
    });
  const results = await Promise.all(bases.map(run));
  const errors = results.reduce((s, r) => s + r.non2xx + r.errors, 0);
  if (errors > 0) throw new Error(`${kind}: ${errors} failed requests`);
  return {
    perSecond: results.reduce((s, r) => s + r.requests.average, 0),
    p50: median(results.map((r) => r.latency.p50)),
  };
}
