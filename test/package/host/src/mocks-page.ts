/* The widget against `minute-topup/mocks`, answered by msw's service worker. */
import { setupWorker } from 'msw/browser';
import { createMinuteTopupMocks, type MinuteTopupMocks } from 'minute-topup/mocks';
import 'minute-topup';

declare global {
  interface Window {
    host: { seen: string[]; mocks: MinuteTopupMocks };
  }
}

const mocks = await createMinuteTopupMocks({
  apiBase: '/api',
  accounts: [{ id: 'acme', usedSeconds: 27_000 }],
});
await setupWorker(...mocks.handlers).start({ quiet: true, onUnhandledRequest: 'bypass' });

const seen: string[] = [];
const widget = document.createElement('minute-topup');
widget.apiBase = '/api';
widget.accountId = 'acme';
widget.fetchToken = () => mocks.token('acme');
widget.addEventListener('minute-topup-purchase', (e) =>
  seen.push(`purchase ${e.detail.purchase.packageId}`),
);
widget.addEventListener('minute-topup-error', (e) => seen.push(`error ${e.detail.code}`));
document.querySelector('main')!.append(widget);
window.host = { seen, mocks };
