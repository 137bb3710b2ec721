/**
 * Reading `text/event-stream` bodies in tests (the live balance): events as
 * they arrive, awaited without fixed sleeps.
 */

import assert from 'node:assert/strict';
import type { BalanceDto } from '../../contract/index.js';
import { sseParser } from '../../widget/sse.js';

export interface SseEvent {
  event: string;
  /** The last id the stream gave (it carries over, as in a browser). */
  id: string;
  data: string;
  /** `performance.now()` when it arrived. */
  at: number;
}

/**
 * A `text/event-stream` body read with the widget's parser: events in order,
 * comments counted, `retry:` kept.
 */
export class SseReader {
  /** Every event received, in order. */
  readonly received: SseEvent[] = [];
  comments = 0;
  /** The event `next` took last. */
  last: SseEvent | undefined;
  retry: number | undefined;
  finished = false;
  error: unknown;
  private readonly pending: SseEvent[] = [];
  private readonly wakers = new Set<() => void>();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Resolves when the body has ended (or failed). */
  readonly done: Promise<void>;

  constructor(
    body: ReadableStream<Uint8Array>,
    /** How long `until`, `next` and `ended` wait by default, ms. */
    private readonly waitMs = 10_000,
  ) {
    this.reader = body.getReader();
    this.done = this.pump();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    // The widget's own parser (the HTML standard's rules).
    const parse = sseParser(
      (e) => {
        const event = { event: e.type, id: e.id, data: e.data, at: performance.now() };
        this.received.push(event);
        this.pending.push(event);
      },
      (ms) => (this.retry = ms),
      () => (this.comments += 1),
    );
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        parse(decoder.decode(value, { stream: true }));
        this.wake();
      }
    } catch (error) {
      this.error = error;
    } finally {
      this.finished = true;
      this.wake();
    }
  }

  /** Resolves once `ready()` holds (checked whenever something arrives); throws after `timeoutMs`. */
  async until(ready: () => boolean, what: string, timeoutMs = this.waitMs): Promise<void> {
    if (ready()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wakers.delete(check);
        reject(new Error(`${what}: nothing after ${timeoutMs} ms (received ${this.describe()})`));
      }, timeoutMs);
      const check = () => {
        if (!ready()) return;
        clearTimeout(timer);
        this.wakers.delete(check);
        resolve();
      };
      this.wakers.add(check);
    });
  }

  /** The next event, or null once the body has ended. */
  async next(timeoutMs = this.waitMs): Promise<SseEvent | null> {
    await this.until(() => this.pending.length > 0 || this.finished, 'next event', timeoutMs);
    this.last = this.pending.shift();
    return this.last ?? null;
  }

  /** Events received and not taken yet. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Waits for the body to end; returns what had not been taken. */
  async ended(timeoutMs = this.waitMs): Promise<SseEvent[]> {
    await this.until(() => this.finished, 'end of the stream', timeoutMs);
    return this.pending.splice(0);
  }

  cancel(): Promise<void> {
    return this.reader.cancel().catch(() => undefined);
  }

  describe(): string {
    return `${this.received.length} event(s) [${this.received.map((e) => e.id).join(', ')}], ${this.comments} comment(s)${this.finished ? ', ended' : ''}`;
  }
}

/** The next event, which must be a `balance` whose id is its data's version. */
export async function nextBalance(sse: SseReader, timeoutMs?: number): Promise<BalanceDto> {
  const e = await sse.next(timeoutMs);
  assert.ok(e, `a balance event, not the end of the stream (${sse.describe()})`);
  assert.equal(e.event, 'balance');
  const balance = JSON.parse(e.data) as BalanceDto;
  assert.equal(typeof balance.version, 'number');
  assert.equal(e.id, String(balance.version), 'the event id is the version');
  return balance;
}
