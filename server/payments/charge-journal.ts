import { createHash, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChargeJournal, RecordedCharge } from './gateway.js';

/**
 * The test gateway's charges on disk, shared by every process that names the
 * same file — as a real processor is shared — so that a restart, or a second
 * API process racing on one key, never charges a key twice.
 *
 * Each charge is one file named after its key, created with `link(2)` from a
 * complete, fsynced temporary file: the link either creates the record whole
 * or fails because another process's record is there, and then that one wins.
 * Every new charge is also appended to `file` (JSON lines), the log a person
 * or a test reads.
 */
export class FileChargeJournal implements ChargeJournal {
  private readonly dir: string;

  constructor(readonly file: string) {
    this.dir = `${file}.d`;
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(dirname(file), { recursive: true });
  }

  private pathOf(idempotencyKey: string): string {
    return join(this.dir, createHash('sha256').update(idempotencyKey).digest('hex'));
  }

  find(idempotencyKey: string): RecordedCharge | null {
    try {
      return JSON.parse(readFileSync(this.pathOf(idempotencyKey), 'utf8')) as RecordedCharge;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  record(charge: RecordedCharge): RecordedCharge {
    const text = JSON.stringify(charge);
    const temp = join(this.dir, `.tmp-${randomUUID()}`);
    const fd = openSync(temp, 'wx');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, this.pathOf(charge.idempotencyKey));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return this.find(charge.idempotencyKey) ?? charge;
    } finally {
      unlinkSync(temp);
    }
    appendFileSync(this.file, `${text}\n`, { flush: true });
    return charge;
  }
}
