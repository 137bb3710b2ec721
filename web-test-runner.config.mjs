import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { chromiumArgs, findChromium } from './scripts/chromium.mjs';

const require = createRequire(import.meta.url);

/** Serves msw's worker from node_modules at the root, so it is always the installed version. */
const mswWorker = {
  name: 'msw-worker',
  async serve(context) {
    if (context.path === '/mockServiceWorker.js') {
      return {
        body: await readFile(require.resolve('msw/mockServiceWorker.js'), 'utf8'),
        type: 'js',
      };
    }
  },
};

/**
 * Browser tests of the widget (`npm run test:widget`, after `npm run build`).
 * `*.test.html` files are pages of their own (e.g. with a Content-Security-Policy)
 * that run their tests with `runTests` from `@web/test-runner-mocha`.
 *
 * Timeouts are generous so the suite holds on a loaded 2-core machine; test
 * files run one at a time unless `WTR_CONCURRENCY` says otherwise.
 */
export default {
  files: ['test/widget/**/*.test.ts', 'test/widget/**/*.test.html'],
  nodeResolve: { exportConditions: ['browser', 'development'] },
  plugins: [esbuildPlugin({ ts: true, target: 'es2022', tsconfig: './tsconfig.json' }), mswWorker],
  browsers: [
    chromeLauncher({
      launchOptions: { executablePath: findChromium(), headless: true, args: chromiumArgs },
    }),
  ],
  concurrency: Number(process.env.WTR_CONCURRENCY) || 1,
  browserStartTimeout: 120_000,
  testsStartTimeout: 120_000,
  testsFinishTimeout: 300_000,
  // Lit's development build says so once per page; nothing to act on in tests.
  filterBrowserLogs: ({ args }) => !String(args[0]).includes('Lit is in dev mode'),
  testFramework: { config: { timeout: 30_000 } },
};
