import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { createMockApi } from '../server/testing/mock-api.js';
import { launchChromium } from '../test/support/demo-server.js';
import type { Row } from './http.js';
import { median, tempDir } from './util.js';

const gzip9 = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** The bundle against Lit + @lit/context alone, built the same way. */
async function sizes(): Promise<Row[]> {
  const tmp = tempDir();
  try {
    await build({
      configFile: false,
      logLevel: 'silent',
      build: {
        outDir: tmp.dir,
        target: 'es2022',
        lib: { entry: 'bench/lit-floor.ts', formats: ['es'], fileName: () => 'floor.js' },
        rolldownOptions: { output: { minify: true } },
      },
    });
    const bundle = gzip9('dist/minute-topup.js');
    const floor = gzip9(join(tmp.dir, 'floor.js'));
    return [
      {
        figure: 'Widget bundle, minified / gzip -9',
        value: `${kb(readFileSync('dist/minute-topup.js').length)} / ${kb(bundle)}`,
        goal: '≤ 22 KB gzip (aim 15 KB)',
      },
      { figure: 'Lit + @lit/context alone, gzip -9 (floor)', value: kb(floor), goal: '—' },
      { figure: 'Widget ÷ floor (gzip)', value: `${(bundle / floor).toFixed(2)}×`, goal: '—' },
    ];
  } finally {
    tmp.remove();
  }
}

const page = `<!doctype html><meta charset="utf-8"><body><script type="module">
// Record when the widget calls fetch and when each answer arrives.
const calls = [];
const realFetch = window.fetch;
window.fetch = (input, init) => {
  const call = { url: String(input instanceof Request ? input.url : input), start: performance.now(), end: Infinity, parsed: Infinity };
  if (call.url.includes('/v1/')) calls.push(call);
  return realFetch(input, init).then((res) => {
    call.end = performance.now();
    // When the widget has its data: the answer's JSON read.
    const json = res.json.bind(res);
    res.json = () => json().then((v) => ((call.parsed = performance.now()), v));
    return res;
  }, (e) => { call.end = performance.now(); throw e; });
};
// Looks for the rendered card between tasks (finer than a frame).
const channel = new MessageChannel();
const nextTask = () => new Promise((r) => { channel.port1.onmessage = r; channel.port2.postMessage(0); });
await import('/dist/minute-topup.js');
const t0 = performance.now();
const el = document.createElement('minute-topup');
el.token = new URLSearchParams(location.search).get('token');
el.accountId = 'bench';
document.body.append(el);
const rendered = () => {
  const card = el.shadowRoot?.querySelector('minute-topup-card');
  return card?.shadowRoot?.textContent?.includes('min used');
};
while (!rendered()) await nextTask();
const t1 = performance.now();
// Sequential round trips before the first render: the longest chain of API
// calls in which each was made only after an earlier one had been answered.
// The live stream is not one: it opens once the balance is there, and
// nothing waits for it.
const before = calls.filter((c) => c.start < t1 && !c.url.includes('/events'));
const depth = new Map();
for (const c of before) {
  const prior = before.filter((d) => d.end <= c.start).map((d) => depth.get(d) ?? 1);
  depth.set(c, 1 + Math.max(0, ...prior));
}
// The widget's own cost: from the last answer it read to the card on screen.
const dataAt = Math.max(...before.map((c) => c.parsed).filter((t) => t < t1));
window.result = { ms: t1 - t0, roundTrips: Math.max(0, ...depth.values()), requests: before.length, renderMs: t1 - dataAt };
</script>`;

/** Time from `<minute-topup>` connected to the balance rendered, in headless Chromium, API mocked in-process. */
async function firstRender(loads = 15): Promise<Row[]> {
  const mock = await createMockApi({ accounts: [{ id: 'bench', usedSeconds: 12_000 }] });
  const app = new Hono();
  app.all('/v1/*', (c) => mock.fetch(c.req.raw));
  app.get('/dist/*', serveStatic({ root: './' }));
  app.get('/bench', (c) => c.html(page));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  const browser = await launchChromium();
  try {
    const token = await mock.mintToken('bench', 3600);
    const results: { ms: number; roundTrips: number; requests: number; renderMs: number }[] = [];
    for (let i = 0; i < loads; i += 1) {
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${port}/bench?token=${token}`);
      await tab.waitForFunction('window.result');
      results.push(await tab.evaluate('window.result'));
      await tab.close();
    }
    return [
      {
        figure: 'Connected → balance rendered (headless Chromium, API mocked)',
        value: `${median(results.map((r) => r.ms)).toFixed(1)} ms (median of ${loads})`,
        goal: '—',
      },
      {
        figure: 'Balance answered → card rendered',
        value: `${median(results.map((r) => r.renderMs)).toFixed(1)} ms (median of ${loads}; from the last answer read to the card's text)`,
        goal: '≤ 16 ms',
      },
      {
        figure: 'Sequential API round trips before the first render',
        value: `${Math.max(...results.map((r) => r.roundTrips))} (${results[0].requests} requests in parallel)`,
        goal: '1',
      },
    ];
  } finally {
    await browser.close();
    server.close();
  }
}

export async function widgetBench(): Promise<Row[]> {
  return [...(await sizes()), ...(await firstRender())];
}
