import type { BalanceDto } from '../contract/index.js';
import { ApiError, type ApiClient } from './api-client.js';
import { sseParser } from './sse.js';

export interface LiveBalanceOptions {
  /** Opens the stream past a version: the API client's `events`. */
  open: ApiClient['events'];
  /** The version shown now, sent as `Last-Event-ID` (none: the stream starts with the balance). */
  version: () => number | undefined;
  /** Each `balance` event's balance, in the order the stream sent them. */
  balance: (balance: BalanceDto) => void;
}

/** The longest wait between two attempts. */
const MAX_WAIT_MS = 30_000;
/** A stream that stayed open this long was healthy: the next wait starts from the shortest again. */
const HEALTHY_MS = 30_000;

/**
 * The account's live balance (`GET …/events`), read with `fetch` so the token
 * travels in the `Authorization` header. One stream at a time: `start` while
 * one runs does nothing, `stop` aborts it. When the stream ends (the token
 * expired: the next request gets a 401 and, through `fetchToken`, a fresh
 * token) or fails, it reconnects after the server's `retry` (1 s), doubled
 * after each attempt that did not last (up to 30 s), with jitter, and sends
 * the version shown as `Last-Event-ID`. Refused for good (401 after a fresh
 * token, 403, 404), it waits for `stop` and `start` (a new token, the page
 * shown again).
 *
 * @example
 * const live = new LiveBalance({ open: api.events, version: () => shown?.version, balance: show });
 * live.start();
 * document.addEventListener('visibilitychange', () => (document.hidden ? live.stop() : live.start()));
 */
export class LiveBalance {
  /** Bumped by every `start` and `stop`: a run whose number is not current ends. */
  private run = 0;
  private running = false;
  private refused = false;
  private controller?: AbortController;
  private wake?: () => void;
  private timer?: ReturnType<typeof setTimeout>;
  /** The server's `retry:` (ms): the shortest wait before reconnecting. */
  private retryMs = 1000;

  constructor(private options: LiveBalanceOptions) {}

  start(): void {
    if (this.running || this.refused) return;
    this.running = true;
    void this.loop(++this.run);
  }

  /** Closes the stream (and forgets a refusal: the next `start` tries again). */
  stop(): void {
    this.run++;
    this.running = false;
    this.refused = false;
    this.controller?.abort();
    clearTimeout(this.timer);
    this.wake?.();
  }

  private async loop(run: number) {
    let failures = 0;
    while (run === this.run) {
      const controller = (this.controller = new AbortController());
      const opened = Date.now();
      try {
        const version = this.options.version();
        const res = await this.options.open(version?.toString(), controller.signal);
        await this.read(res.body!);
      } catch (e) {
        if (run !== this.run) return;
        if (e instanceof ApiError && [401, 403, 404].includes(e.status)) {
          this.running = false;
          this.refused = true;
          return;
        }
      }
      if (run !== this.run) return;
      failures = Date.now() - opened >= HEALTHY_MS ? 0 : failures + 1;
      const wait = Math.min(MAX_WAIT_MS, this.retryMs * 2 ** failures);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait * (0.5 + Math.random() / 2));
      });
    }
  }

  /** Reads the stream until it ends (resolves) or fails or is aborted (rejects). */
  private async read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    const parse = sseParser(
      ({ type, data }) => {
        if (type !== 'balance') return;
        let balance: BalanceDto;
        try {
          balance = JSON.parse(data);
        } catch {
          return; // not a balance: the next one will be
        }
        this.options.balance(balance);
      },
      // Never a busy loop, whatever the server says.
      (ms) => (this.retryMs = Math.max(ms, 500)),
    );
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parse(decoder.decode(value, { stream: true }));
    }
  }
}
