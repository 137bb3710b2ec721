import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where the reliability suites leave their rows; `npm test` prints them as one table. */
export const REPORT_FILE = '.tmp/reliability.jsonl';

export interface ReliabilityRow {
  /** What was tried, e.g. "SIGKILL under load (SQLite)". */
  tried: string;
  /** The figures: operations, kills, inputs, failures … as "12,000 requests, 25 kills". */
  figures: string;
  /** What had to hold, e.g. "every acknowledged write present; invariants". */
  check: string;
  held: boolean;
}

/** Records one row of the reliability table (and prints it, for a run of one file). */
export function reportReliability(row: ReliabilityRow): void {
  mkdirSync(dirname(REPORT_FILE), { recursive: true });
  appendFileSync(REPORT_FILE, `${JSON.stringify(row)}\n`);
  console.log(`reliability: ${row.held ? 'held' : 'FAILED'} — ${row.tried}: ${row.figures}`);
}

/** Runs `check`, then reports the scenario as held or not, and rethrows a failure. */
export async function reported(
  row: { tried: string; check: string; figures: () => string },
  check: () => Promise<void>,
): Promise<void> {
  let held = false;
  try {
    await check();
    held = true;
  } finally {
    reportReliability({ tried: row.tried, figures: row.figures(), check: row.check, held });
  }
}
