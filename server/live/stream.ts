import type { BalanceDto } from '../../contract/index.js';
import type { Clock } from '../clock.js';
import type { LiveBalances } from './balances.js';

export interface BalanceStreamOptions {
  accountId: string;
  /** What the client saw last (`Last-Event-ID`): the first event is skipped when it is current. */
  lastVersion: number;
  /** When the caller's token expires (the stream ends then); none for the secret key. */
  expiresAtMs?: number;
  live: LiveBalances;
  clock: Clock;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
}

const encoder = new TextEncoder();

/** One `balance` event: the balance's JSON, with its version as the event id. */
export function balanceEvent(balance: BalanceDto): string {
  return `event: balance\nid: ${balance.version}\ndata: ${JSON.stringify(balance)}\n\n`;
}

/**
 * The body of `GET /v1/accounts/:id/events`: `text/event-stream` with the
 * current balance first (unless `lastVersion` is already current), then one
 * `balance` event per change the ledger announces, a comment every
 * `heartbeatMs`, until the token expires, the client goes, or the server
 * stops. Written without waiting on the client: a slow one only buffers.
 */
export function balanceStream(options: BalanceStreamOptions): ReadableStream<Uint8Array> {
  let stop: () => void = () => undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let unwatch: () => void = () => undefined;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      let expiry: ReturnType<typeof setTimeout> | undefined;
      const write = (text: string) => {
        if (open) controller.enqueue(encoder.encode(text));
      };
      const end = () => {
        if (!open) return;
        open = false;
        unwatch();
        clearInterval(heartbeat);
        clearTimeout(expiry);
        try {
          controller.close();
        } catch {
          // already closed by a cancel
        }
      };
      stop = end;
      // Reconnect a second after an end, unless told otherwise by the client.
      write('retry: 1000\n\n');
      // The first balance comes from the live balances too (see `watch`).
      unwatch = options.live.watch(
        options.accountId,
        { send: (balance) => write(balanceEvent(balance)), close: end },
        options.lastVersion,
      );
      if (!open) return; // closed at once (the server is stopping)
      const expired = () =>
        options.expiresAtMs !== undefined && options.clock.now() >= options.expiresAtMs;
      // Each beat also looks at the clock: a clock the tests move ends the stream too.
      heartbeat = setInterval(
        () => (expired() ? end() : write(': keep-alive\n\n')),
        options.heartbeatMs,
      );
      heartbeat.unref?.();
      if (options.expiresAtMs !== undefined) {
        expiry = setTimeout(end, Math.max(0, options.expiresAtMs - options.clock.now()));
        expiry.unref?.();
      }
    },
    cancel() {
      stop();
    },
  });
}
