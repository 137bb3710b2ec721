import { setupWorker } from 'msw/browser';
import type { RequestHandler } from 'msw';

/**
 * msw's worker, started once this page is under its control. msw reloads a
 * page that finds the worker registered but not controlling it — which is
 * what a page sees while another test file's page (concurrency) is installing
 * it — and wtr then reports "Tests were interrupted because the page was
 * reloaded". The worker claims every page once active: wait for that instead.
 */
export async function startWorker(...handlers: RequestHandler[]) {
  const sw = navigator.serviceWorker;
  if (!sw.controller && (await sw.getRegistrations()).length) {
    await new Promise<void>((resolve) => {
      sw.addEventListener('controllerchange', () => resolve(), { once: true });
      if (sw.controller) resolve();
      // Should it never come, msw's own reload is the fallback.
      setTimeout(resolve, 20_000);
    });
  }
  const worker = setupWorker(...handlers);
  await worker.start({ quiet: true, onUnhandledRequest: 'bypass' });
  return worker;
}
