/* The React host rendered, against `minute-topup/mocks` through msw. */
import { createRoot } from 'react-dom/client';
import { setupWorker } from 'msw/browser';
import { createMinuteTopupMocks } from 'minute-topup/mocks';
import { Billing } from './react-host.js';

const mocks = await createMinuteTopupMocks({ apiBase: '/api', accounts: [{ id: 'acme' }] });
await setupWorker(...mocks.handlers).start({ quiet: true, onUnhandledRequest: 'bypass' });
createRoot(document.querySelector('main')!).render(
  <Billing fetchToken={() => mocks.token('acme')} />,
);
