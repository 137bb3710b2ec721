import type { BalanceDto } from '../../contract/index.js';

/**
 * Live balances: the open event streams of this process, by account, fed by
 * the ledger's change notices (`changed`). A notice for an account nobody
 * watches costs a map lookup; for a watched one, one balance read serves
 * every stream of the account, and notices that arrive while it runs are
 * folded into one more read (a burst of changes ends at its final balance;
 * versions only ever grow on a stream). A notice may come twice (this
 * process's own commit, and PostgreSQL's NOTIFY of it): the version tells.
 */
export interface LiveStream {
  /** Sends one balance; the stream's own version filter is applied before. */
  send(balance: BalanceDto): void;
  /** Ends the stream (cap reached, shutdown). */
  close(): void;
}

/** A stream as watched: what it has seen; `fresh` until its first balance went out. */
type Entry = LiveStream & { sentVersion: number; fresh: boolean };

interface Watched {
  streams: Set<Entry>;
  /** The newest version a read has fanned out. */
  sentVersion: number;
  /** The newest version a notice announced (a read then was, or will be, made). */
  noticedVersion: number;
  /** A notice came that no read has answered yet. */
  dirty: boolean;
  /** The next read goes to every stream, even one that has its version (`refreshAll`). */
  force: boolean;
  reading: boolean;
}

export interface LiveBalancesOptions {
  /** The balance now (with its `version`), read when a watched account changes. */
  readBalance: (accountId: string) => Promise<BalanceDto>;
  /** Open streams per account at most: the oldest is closed to make room. */
  maxStreamsPerAccount: number;
  /** Where a failed read is reported (the streams then wait for the next notice). */
  logError?: (error: Error) => void;
}

export class LiveBalances {
  private readonly watched = new Map<string, Watched>();
  private readonly options: LiveBalancesOptions;
  private closed = false;

  constructor(options: LiveBalancesOptions) {
    this.options = options;
  }

  /** Streams open now, in all. */
  get size(): number {
    let n = 0;
    for (const w of this.watched.values()) n += w.streams.size;
    return n;
  }

  /**
   * Adds a stream for an account, whose client has seen `sentVersion` (its
   * `Last-Event-ID`, or -1), and reads the balance for it: registered before
   * that read, it misses no change committed meanwhile. Its first event is
   * the balance unless the client has that very version; a client ahead of
   * the ledger (an id of another deployment, a restored database) gets the
   * balance too, and is followed from there. Returns the function that
   * removes it.
   */
  watch(accountId: string, stream: LiveStream, sentVersion: number): () => void {
    if (this.closed) {
      stream.close();
      return () => undefined;
    }
    let w = this.watched.get(accountId);
    if (!w) {
      w = {
        streams: new Set(),
        sentVersion: 0,
        noticedVersion: 0,
        dirty: false,
        force: false,
        reading: false,
      };
      this.watched.set(accountId, w);
    }
    const entry: Entry = Object.assign(stream, { sentVersion, fresh: true });
    w.streams.add(entry);
    // Sets keep insertion order: the first is the oldest.
    while (w.streams.size > this.options.maxStreamsPerAccount) {
      const oldest = w.streams.values().next().value!;
      w.streams.delete(oldest);
      oldest.close();
    }
    const watched = w;
    this.read(accountId, w);
    return () => {
      watched.streams.delete(entry);
      if (watched.streams.size === 0 && this.watched.get(accountId) === watched) {
        this.watched.delete(accountId);
      }
    };
  }

  /** The ledger committed a change of `accountId`, now at `version`. */
  changed(accountId: string, version: number): void {
    const w = this.watched.get(accountId);
    // A version already read, or already noticed: a read made after that
    // notice covers it (PostgreSQL's NOTIFY repeats this process's own commits).
    if (!w || version <= Math.max(w.sentVersion, w.noticedVersion)) return;
    w.noticedVersion = version;
    this.read(accountId, w);
  }

  /** Every watched account's balance again (a lost notice channel came back). */
  refreshAll(): void {
    for (const [accountId, w] of this.watched) {
      w.force = true;
      this.read(accountId, w);
    }
  }

  /** Ends every stream (shutdown); later `watch`es end at once. */
  closeAll(): void {
    this.closed = true;
    for (const w of this.watched.values()) for (const s of w.streams) s.close();
    this.watched.clear();
  }

  private read(accountId: string, w: Watched): void {
    w.dirty = true;
    if (!w.reading) void this.fanOut(accountId, w);
  }

  private async fanOut(accountId: string, w: Watched): Promise<void> {
    w.reading = true;
    try {
      // Notices that arrive during a read are answered by one more read.
      while (w.dirty) {
        w.dirty = false;
        const force = w.force;
        w.force = false;
        const balance = await this.options.readBalance(accountId);
        w.sentVersion = Math.max(w.sentVersion, balance.version);
        for (const s of w.streams) {
          const due = s.fresh
            ? balance.version !== s.sentVersion
            : balance.version > s.sentVersion || (force && balance.version === s.sentVersion);
          s.fresh = false;
          if (due) {
            s.sentVersion = balance.version;
            s.send(balance);
          }
        }
      }
    } catch (error) {
      this.options.logError?.(error as Error);
    } finally {
      w.reading = false;
    }
  }
}
