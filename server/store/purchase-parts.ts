import { cycleContaining } from '../domain/cycles.js';
import type { CreditWrite, LedgerTx, PurchaseReads } from './types.js';

/**
 * `readForPurchase` and `writeCredit` made of the store's own row
 * operations, one after another: for the stores where a statement costs no
 * round trip (SQLite in process, memory). Spread into a store's transaction
 * object (`...purchaseByParts`): each runs on the transaction it is called on.
 * PostgreSQL has its own.
 */
export const purchaseByParts: Pick<LedgerTx, 'readForPurchase' | 'writeCredit'> &
  ThisType<LedgerTx> = {
  async readForPurchase(accountId, idempotencyKey, nowMs) {
    return readForPurchaseByParts(this, accountId, idempotencyKey, nowMs);
  },
  async writeCredit(w) {
    return writeCreditByParts(this, w);
  },
};

export async function readForPurchaseByParts(
  tx: LedgerTx,
  accountId: string,
  idempotencyKey: string,
  nowMs: number,
): Promise<PurchaseReads> {
  const account = await tx.getAccount(accountId, true);
  if (!account) return noPurchaseReads();
  return {
    account,
    intent: await tx.findIntent(accountId, idempotencyKey),
    purchase: await tx.findPurchaseByKey(accountId, idempotencyKey),
    counters: await tx.getCycle(accountId, cycleContaining(account.cycleAnchorMs, nowMs).start),
    autoTopup: await tx.getAutoTopup(accountId),
  };
}

/** What `readForPurchase` answers for an account that does not exist. */
export const noPurchaseReads = (): PurchaseReads => ({
  account: null,
  intent: null,
  purchase: null,
  counters: null,
  autoTopup: null,
});

export async function writeCreditByParts(tx: LedgerTx, w: CreditWrite): Promise<void> {
  const p = w.purchase;
  await tx.insertPurchase(p);
  const version = await tx.changeBalance(p.accountId, p.remainingSeconds, activeCount(p));
  if (version !== w.version) {
    throw new Error(`writeCredit: version ${version}, expected ${w.version}`);
  }
  await tx.addToCycle(p.accountId, w.cycleStartMs, w.cycleDelta);
  if (w.insertIntent) await tx.insertIntent(w.insertIntent);
  else await tx.completeIntent(p.accountId, p.idempotencyKey, w.response);
  if (w.autoTopup) await tx.putAutoTopup(w.autoTopup);
  if (w.warning) await tx.setWarning(p.accountId, w.warning);
  for (const webhook of w.webhooks) await tx.insertWebhook(webhook);
}

/** How many active packages a purchase adds: one while it holds minutes. */
export const activeCount = (p: CreditWrite['purchase']) => (p.status === 'active' ? 1 : 0);
