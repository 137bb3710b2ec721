/*
 * A Node test's use of `minute-topup/mocks` without msw installed (behind
 * Playwright's `page.route`, say): typechecked before msw is installed, with
 * `skipLibCheck` as most projects have it (the handlers' type names msw's).
 */
import { createMinuteTopupMocks, type MockApi } from 'minute-topup/mocks';

export async function answer(request: Request): Promise<Response> {
  const mocks = await createMinuteTopupMocks({ apiBase: '/api', accounts: [{ id: 'acme' }] });
  const api: MockApi = mocks.api;
  api.setDeclining('acme');
  // @ts-expect-error: the seeds are typed
  await createMinuteTopupMocks({ apiBase: '/api', accounts: [{ name: 'acme' }] });
  return mocks.fetch(request);
}
