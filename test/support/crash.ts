import assert from 'node:assert/strict';
import type { LedgerStore, PurchaseRow } from '../../server/store/types.js';
import { callApi, type Answer } from './http.js';

/**
 * What the crash suites (test/reliability/crash*.test.ts) share: the requests
 * their clients send under load, sending one again with its key, and what the
 * re-sends after the run must answer.
 */

/** One request of the load: a call's usage or a purchase, and what it was answered. */
export interface Op {
  kind: 'usage' | 'purchase';
  accountId: string;
  /** callId or Idempotency-Key. */
  id: string;
  seconds?: number;
  packageId?: string;
  /** The first answer with a 2xx status, if any. */
  acked?: Answer;
  /** Transport failures (no answer). */
  lost: number;
  /** Answers that were neither 2xx nor a transport failure (nor what a suite sends again). */
  failed: Answer[];
  /** The answer to the re-send after the run. */
  final?: Answer;
}

/**
 * Sends `op` (again, with its callId or Idempotency-Key) to the API at `base`;
 * a purchase waits up to `purchaseTimeoutMs` for its answer (callApi's default
 * when not given), a usage always callApi's default.
 */
export function send(
  base: string,
  op: Op,
  { purchaseTimeoutMs }: { purchaseTimeoutMs?: number } = {},
): Promise<Answer> {
  return op.kind === 'usage'
    ? callApi(base, 'POST', `/v1/accounts/${op.accountId}/usage`, {
        callId: op.id,
        seconds: op.seconds,
      })
    : callApi(
        base,
        'POST',
        `/v1/accounts/${op.accountId}/purchases`,
        { packageId: op.packageId },
        { 'Idempotency-Key': op.id },
        purchaseTimeoutMs === undefined ? {} : { timeoutMs: purchaseTimeoutMs },
      );
}

/** Every purchase row of `accounts`, read in one transaction. */
export function allPurchases(store: LedgerStore, accounts: string[]): Promise<PurchaseRow[]> {
  return store.transact(
    async (tx) => {
      const rows: PurchaseRow[] = [];
      for (const id of accounts) rows.push(...(await tx.listPurchases(id)));
      return rows;
    },
    { readOnly: true },
  );
}

/** Re-sends every op with its key, `clients` at a time, keeping each answer in `op.final`. */
export async function resendAll(
  ops: Op[],
  clients: number,
  sendOne: (op: Op) => Promise<Answer>,
): Promise<void> {
  const queue = [...ops];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let op = queue.shift(); op; op = queue.shift()) op.final = await sendOne(op);
    }),
  );
}

/**
 * After `resendAll`: every request answered its success (200 usage, 201
 * purchase); an acknowledged one replayed its first answer byte for byte; each
 * answer names what was sent and has the balance. `credited`: every purchase
 * answered is active (credited).
 */
export function assertResent(ops: Op[], { credited = false } = {}): void {
  for (const op of ops) {
    const ok = op.kind === 'usage' ? 200 : 201;
    assert.equal(op.final?.status, ok, `${op.kind} ${op.id} re-sent: ${op.final?.text}`);
    if (op.acked) {
      assert.equal(op.acked.status, ok, `${op.kind} ${op.id}`);
      assert.equal(op.final.text, op.acked.text, `${op.kind} ${op.id} replays its first answer`);
    }
    const body = op.final.body;
    if (op.kind === 'usage') {
      assert.equal(body.usage.callId, op.id);
      assert.equal(body.usage.seconds, op.seconds);
      assert.ok(body.balance, `usage ${op.id} answer has the balance`);
    } else {
      assert.equal(body.purchase.packageId, op.packageId);
      if (credited) assert.equal(body.purchase.status, 'active', `purchase ${op.id} credited`);
      assert.ok(body.balance, `purchase ${op.id} answer has the balance`);
    }
  }
}
