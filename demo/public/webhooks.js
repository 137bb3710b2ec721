// The Billing page's "Webhooks received" panel: what the demo's backend,
// standing in for the host's webhook endpoint, received from the API and
// verified. It asks the backend every two seconds while the page is in view
// (an ETag makes a poll that finds nothing new cheap); the backend writes
// every sentence, this only places them.
import { send } from './backend.js';

const POLL_MS = 2_000;
/** After a refusal (a 429, the backend away): a longer pause. */
const BACKOFF_MS = 10_000;

/**
 * Wires the panel and starts polling.
 *
 * @param {{received: (webhooks: object[]) => void}} host `received` is told of
 *   the webhooks that arrived since the last poll (not of those listed at first).
 */
export function webhooksPanel({ received }) {
  const intro = document.querySelector('#webhooks-intro');
  const empty = document.querySelector('#webhooks-empty');
  const region = document.querySelector('.webhooks-scroll');
  const rows = document.querySelector('#webhooks tbody');
  const news = document.querySelector('#webhooks-news');
  /** The rows on the page by webhook-id: a row, once made, is kept as it is. */
  let shown = new Map();
  let first = true;

  function row(w) {
    const tr = document.createElement('tr');
    const time = document.createElement('time');
    time.dateTime = w.receivedAt;
    time.textContent = w.time;
    tr.insertCell().append(time);
    const type = document.createElement('th');
    type.scope = 'row';
    const code = document.createElement('code');
    code.textContent = w.type;
    type.append(code);
    tr.append(type);
    // A signed event without an account (not one the API sends): a dash.
    tr.insertCell().textContent = w.accountId ?? '—';
    tr.insertCell().textContent = w.summary;
    const signature = tr.insertCell();
    const tick = document.createElement('span');
    tick.setAttribute('aria-hidden', 'true');
    tick.textContent = '✓ ';
    signature.append(tick, 'Verified');
    signature.className = 'verified';
    return tr;
  }

  /** Places the list (newest first), and says what is new. */
  function render(webhooks) {
    const fresh = webhooks.filter((w) => !shown.has(w.id));
    if (!first && fresh.length === 0 && webhooks.length === shown.size) return;
    const next = new Map(webhooks.map((w) => [w.id, shown.get(w.id) ?? row(w)]));
    rows.replaceChildren(...next.values());
    shown = next;
    empty.hidden = webhooks.length > 0;
    region.hidden = webhooks.length === 0;
    if (!first && fresh.length > 0) {
      const [newest] = fresh;
      const what = `${newest.summary} (${newest.accountId ?? 'no account'}, signature verified).`;
      news.textContent =
        fresh.length === 1
          ? `Webhook received: ${what}`
          : `${fresh.length} webhooks received; the newest: ${what}`;
      received(fresh);
    }
    first = false;
  }

  /** One poll; how long until the next, or null when there is nothing to poll. */
  async function poll() {
    let answer;
    try {
      answer = await send('/demo/api/webhooks');
    } catch {
      return BACKOFF_MS;
    }
    if (!answer.receiving) {
      intro.textContent =
        'The API sends its webhooks to the endpoint the host configured ' +
        '(MINUTE_TOPUP_WEBHOOK_URL), not to this demo: your backend lists them there.';
      empty.hidden = true;
      return null;
    }
    render(answer.webhooks);
    return POLL_MS;
  }

  async function loop() {
    const wait = document.hidden ? POLL_MS : await poll();
    if (wait !== null) setTimeout(loop, wait);
  }
  loop();
}
