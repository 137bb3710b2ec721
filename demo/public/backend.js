// Calls to the demo's own backend (`/demo/api/*`), which holds the secret key.

/** The backend's answer was an error: its code and message, or none came. */
export class BackendError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, answered: boolean}} details `answered`
   *   false: the request may or may not have been carried out (the network
   *   failed, or the server failed without saying what happened).
   */
  constructor(message, { status, code, answered }) {
    super(message);
    this.status = status;
    this.code = code;
    this.answered = answered;
  }
}

/** Sends a request and reads its JSON answer; throws a `BackendError` for anything else. */
export async function send(path, { method = 'GET', body, headers = {} } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new BackendError('The demo backend did not answer.', { answered: false });
  }
  const json = await res.json().catch(() => undefined);
  if (res.ok && json) return json;
  // A 5xx may come after the change was made (a lost commit answer, a
  // processor that failed late): only a 4xx says for certain nothing happened.
  throw new BackendError(json?.error?.message ?? res.statusText, {
    status: res.status,
    code: json?.error?.code,
    answered: res.status < 500,
  });
}

/** POSTs `body` as JSON. */
export const post = (path, body, headers) => send(path, { method: 'POST', body, headers });

/**
 * A new idempotency key (random, 128 bits, hex). `crypto.getRandomValues`
 * works on plain http too, where `crypto.randomUUID` does not.
 */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
