/**
 * Usage calls per second over HTTP against a real API process on a fresh
 * SQLite file: several runs, median printed. `tsx bench/usage-http.ts`.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECRET = 'sk_bench_0123456789abcdef0123456789';
const port = 18_000 + Math.floor(Math.random() * 1000);
const dir = mkdtempSync(join(tmpdir(), 'mt-bench-'));
const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
  env: { ...process.env, PORT: String(port), DATABASE_URL: join(dir, 'b.db'), MINUTE_TOPUP_SECRET_KEY: SECRET },
  stdio: 'ignore',
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i += 1) {
  try {
    if ((await fetch(`${base}/v1/catalog`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const auth = { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' };
for (let a = 0; a < 10; a += 1) {
  await fetch(`${base}/v1/accounts/acct-${a}`, { method: 'PUT', headers: auth, body: JSON.stringify({ planId: 'scale' }) });
}
let n = 0;
const rates: number[] = [];
for (let run = 0; run < 5; run += 1) {
  const result = await autocannon({
    url: base,
    connections: 20,
    duration: 4,
    requests: [
      {
        method: 'POST',
        headers: auth,
        setupRequest: (req) => {
          n += 1;
          return { ...req, path: `/v1/accounts/acct-${n % 10}/usage`, body: JSON.stringify({ callId: `c${n}`, seconds: 7 }) };
        },
      },
    ],
  });
  rates.push(result.requests.average);
  console.log(`run ${run + 1}: ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, non-2xx ${result.non2xx}`);
}
rates.sort((a, b) => a - b);
console.log(`median: ${rates[2].toFixed(0)} usage calls/s`);
server.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
