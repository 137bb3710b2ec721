import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../test/support/net.js';
import type { Row } from './http.js';
import { auth, median, SECRET, tempDir } from './util.js';

/**
 * Live balance: one API process (SQLite, group commit as by default) holding
 * N open event streams (`GET /v1/accounts/:id/events`, widget tokens) spread
 * over accounts, each on its own keep-alive HTTP connection from this
 * process; then usage calls at a steady rate on watched accounts. Measured:
 * the time from a usage call's answer (its commit) to the `balance` event of
 * that version at each client watching the account (p50, p99), and the
 * server's resident memory per open stream (VmRSS from /proc, before and
 * after opening, over N). Tunable with LIVE_BENCH_STREAMS (2,000),
 * LIVE_BENCH_ACCOUNTS (500), LIVE_BENCH_RATE (usage calls per second, 100)
 * and LIVE_BENCH_SECONDS (10).
 */

const envInt = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

/** The server's resident set size, bytes (Linux); null elsewhere. */
function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** A few samples of the RSS a moment apart, their median: a GC in between moves one, not all. */
async function settledRss(pid: number): Promise<number | null> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    await sleep(200);
    const rss = rssOf(pid);
    if (rss === null) return null;
    samples.push(rss);
  }
  return median(samples);
}

/** Runs `jobs` with at most `width` at a time. */
async function pooled<T>(items: T[], width: number, job: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await job(items[next++]);
    }),
  );
}

/** One open stream: the time each version's event arrived. */
interface Watcher {
  accountId: string;
  arrivals: Map<number, number>;
  /** The versions in order of arrival (to find the first at or after a version). */
  versions: number[];
  res?: IncomingMessage;
}

export async function liveBench(): Promise<Row[]> {
  const STREAMS = envInt('LIVE_BENCH_STREAMS', 2_000);
  const ACCOUNTS = Math.min(envInt('LIVE_BENCH_ACCOUNTS', 500), STREAMS);
  const RATE = envInt('LIVE_BENCH_RATE', 100);
  const SECONDS = envInt('LIVE_BENCH_SECONDS', 10);

  const tmp = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      MINUTE_TOPUP_PAYMENTS: 'test',
      PORT: String(port),
      MINUTE_TOPUP_SECRET_KEY: SECRET,
      MINUTE_TOPUP_DEMO: 'off',
      DATABASE_URL: join(tmp.dir, 'live.db'),
      // One token per account, and one read per stream: within the default limits.
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => server.once('exit', r));
  const killOnExit = () => server.kill('SIGKILL');
  process.once('exit', killOnExit);
  const streamAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const watchers: Watcher[] = [];
  try {
    for (let i = 0; ; i += 1) {
      try {
        if ((await fetch(`${base}/v1/catalog`)).ok) break;
      } catch {
        if (i > 300 || server.exitCode !== null) throw new Error('the API did not start');
      }
      await sleep(50);
    }
    const pid = server.pid!;

    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `live-${i}`);
    const tokens = new Map<string, string>();
    await pooled(accounts, 16, async (id) => {
      const put = await fetch(`${base}/v1/accounts/${id}`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ planId: 'scale' }),
      });
      if (!put.ok) throw new Error(`PUT account ${id}: ${put.status}`);
      const minted = await fetch(`${base}/v1/sessions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ accountId: id, ttlSeconds: 3600 }),
      });
      if (minted.status !== 201) throw new Error(`POST /v1/sessions: ${minted.status}`);
      tokens.set(id, ((await minted.json()) as { token: string }).token);
    });

    /** Opens one stream; resolves once its first event (the current balance) is in. */
    const openStream = (w: Watcher) =>
      new Promise<void>((resolve, reject) => {
        const req = request(
          `${base}/v1/accounts/${w.accountId}/events`,
          {
            agent: streamAgent,
            headers: {
              authorization: `Bearer ${tokens.get(w.accountId)}`,
              accept: 'text/event-stream',
            },
          },
          (res) => {
            if (res.statusCode !== 200) {
              res.resume();
              reject(new Error(`GET …/events: ${res.statusCode}`));
              return;
            }
            w.res = res;
            res.setEncoding('utf8');
            let buffer = '';
            res.on('data', (chunk: string) => {
              const at = performance.now();
              buffer += chunk;
              let end: number;
              while ((end = buffer.indexOf('\n\n')) >= 0) {
                const block = buffer.slice(0, end);
                buffer = buffer.slice(end + 2);
                const id = /^id: (\d+)$/m.exec(block);
                if (!id) continue;
                const version = Number(id[1]);
                if (!w.arrivals.has(version)) {
                  w.arrivals.set(version, at);
                  w.versions.push(version);
                }
                resolve();
              }
            });
            res.on('error', () => undefined);
          },
        );
        req.on('error', reject);
        req.end();
      });

    // Warm-up: the code paths of a stream, opened and closed, before the baseline.
    const warm = accounts
      .slice(0, 20)
      .map((accountId): Watcher => ({ accountId, arrivals: new Map(), versions: [] }));
    await Promise.all(warm.map(openStream));
    for (const w of warm) w.res?.destroy();
    const before = await settledRss(pid);

    const openedAt = performance.now();
    for (let i = 0; i < STREAMS; i += 1) {
      watchers.push({ accountId: accounts[i % ACCOUNTS], arrivals: new Map(), versions: [] });
    }
    await pooled(watchers, 64, openStream);
    const openSeconds = (performance.now() - openedAt) / 1000;
    const after = await settledRss(pid);

    // Usage at a steady rate, round the watched accounts in a scattered order.
    const byAccount = new Map<string, Watcher[]>();
    for (const w of watchers)
      byAccount.set(w.accountId, [...(byAccount.get(w.accountId) ?? []), w]);
    const answers: { accountId: string; version: number; at: number }[] = [];
    const usageAgent = new Agent({ keepAlive: true, maxSockets: 32 });
    const useOnce = (accountId: string, callId: string) =>
      new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ callId, seconds: 7 });
        const req = request(
          `${base}/v1/accounts/${accountId}/usage`,
          { method: 'POST', agent: usageAgent, headers: auth },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => {
              const at = performance.now();
              if (res.statusCode !== 200) return reject(new Error(`usage: ${res.statusCode}`));
              const { balance } = JSON.parse(text) as { balance: { version: number } };
              answers.push({ accountId, version: balance.version, at });
              resolve();
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const total = RATE * SECONDS;
    const started = performance.now();
    const calls: Promise<void>[] = [];
    for (let i = 0; i < total; i += 1) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      calls.push(useOnce(accounts[(i * 7919) % ACCOUNTS], `live-bench-${i}`));
    }
    await Promise.all(calls);
    usageAgent.destroy();

    // Every client of the account should hear each version (or a later one, folded).
    const reached = (w: Watcher, version: number) => w.versions.some((v) => v >= version);
    const deadline = performance.now() + 10_000;
    while (
      performance.now() < deadline &&
      !answers.every((a) => byAccount.get(a.accountId)!.every((w) => reached(w, a.version)))
    ) {
      await sleep(50);
    }
    const latencies: number[] = [];
    let missing = 0;
    let early = 0;
    for (const a of answers) {
      for (const w of byAccount.get(a.accountId)!) {
        const v = w.versions.find((x) => x >= a.version);
        if (v === undefined) missing += 1;
        else {
          const dt = w.arrivals.get(v)! - a.at;
          // The event may beat the usage's own answer to the client: that counts as 0.
          if (dt < 0) early += 1;
          latencies.push(Math.max(0, dt));
        }
      }
    }
    const dropped = watchers.filter((w) => !w.res || w.res.destroyed || w.res.complete).length;
    const ms = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(1)} ms`);
    const kb = before !== null && after !== null ? (after - before) / 1024 / STREAMS : null;
    return [
      {
        figure: 'Live streams held by one process',
        value: `${STREAMS.toLocaleString('en')} streams on ${ACCOUNTS.toLocaleString('en')} accounts (opened in ${openSeconds.toFixed(1)} s); ${dropped} dropped`,
        goal: `all ${STREAMS.toLocaleString('en')} open, none dropped`,
      },
      {
        figure: 'Usage committed → balance event, p50',
        value: `${ms(percentile(latencies, 50))} (${latencies.length.toLocaleString('en')} events from ${answers.length.toLocaleString('en')} usages at ${RATE}/s; ${Math.round((100 * early) / Math.max(1, latencies.length))}% before the usage's answer${missing ? `; ${missing} never arrived` : ''})`,
        goal: '—',
      },
      {
        figure: 'Usage committed → balance event, p99',
        value: `${ms(percentile(latencies, 99))} (max ${ms(latencies.length ? Math.max(...latencies) : undefined)})`,
        goal: '≤ 1 s',
      },
      {
        figure: 'Memory per open stream',
        value:
          kb === null
            ? 'not measured (no /proc)'
            : `${kb.toFixed(1)} KB (server RSS ${(before! / 2 ** 20).toFixed(0)} → ${(after! / 2 ** 20).toFixed(0)} MB)`,
        goal: '≤ 50 KB',
      },
    ];
  } finally {
    for (const w of watchers) w.res?.destroy();
    streamAgent.destroy();
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      // A hard stop after 10 s, whose timer does not keep the bench alive after it.
      let hardStop: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([exited, new Promise((r) => (hardStop = setTimeout(r, 10_000)))]);
      clearTimeout(hardStop);
      server.kill('SIGKILL');
    }
    process.off('exit', killOnExit);
    tmp.remove();
  }
}
