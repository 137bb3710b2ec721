/**
 * Reading `text/event-stream` bodies in tests (the live balance): events as
 * they arrive, awaited without fixed sleeps.
 */

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
  /** `performance.now()` when it arrived. */
  at: number;
}

/**
 * A small `text/event-stream` reader (the parts of the WHATWG rules the API
 * uses): `field: value` lines, a blank line dispatches an event that has
 * data, `:` lines are comments, `retry:` is kept.
 */
export class SseReader {
  /** Every event received, in order. */
  readonly received: SseEvent[] = [];
  comments = 0;
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
    let buffer = '';
    let data: string[] = [];
    let event = '';
    let id: string | undefined;
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (data.length > 0) {
              const e = {
                event: event || 'message',
                id,
                data: data.join('\n'),
                at: performance.now(),
              };
              this.received.push(e);
              this.pending.push(e);
            }
            data = [];
            event = '';
            id = undefined;
            this.wake();
          } else if (line.startsWith(':')) {
            this.comments += 1;
            this.wake();
          } else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') data.push(value);
            else if (field === 'event') event = value;
            else if (field === 'id') id = value;
            else if (field === 'retry') this.retry = Number(value);
          }
        }
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
    return this.pending.shift() ?? null;
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
