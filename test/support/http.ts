/**
 * The one HTTP helper of the process suites: a request to a real API
 * listening on a port, with a secret key, answered as status, text and body.
 */

/** The secret key the suites' API processes run with (≥ 16 characters). */
export const API_SECRET = 'sk_test_reliability_0123456789abcdef';

export interface Answer {
  /** 0 when no answer came (connection refused, reset, or timed out). */
  status: number;
  /** The body exactly as sent. */
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: any;
  /** Why no answer came, when `status` is 0. */
  error?: string;
}

export interface CallOptions {
  /** The bearer credential (default `API_SECRET`). */
  secret?: string;
  timeoutMs?: number;
}

/**
 * One request with the secret key; a transport failure is an answer with status 0.
 *
 * @example
 * const put = await callApi(api.base, 'PUT', '/v1/accounts/acme', { planId: 'starter' });
 * assert.equal(put.status, 201, put.text);
 */
export async function callApi(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  { secret = API_SECRET, timeoutMs = 15_000 }: CallOptions = {},
): Promise<Answer> {
  try {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${secret}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      // kept as text
    }
    return { status: res.status, text, body: parsed };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    return {
      status: 0,
      text: '',
      body: undefined,
      error: e.cause?.code ?? e.cause?.message ?? e.message,
    };
  }
}
