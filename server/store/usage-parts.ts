import type { CycleCounters, LedgerTx, UsageReads, UsageWrite } from './types.js';

/**
 * `readForUsage` and `writeUsage` made of the store's own row operations,
 * one after another: for the stores where a statement costs no round trip
 * (SQLite in process, memory). PostgreSQL has statements of its own.
 */
export async function readForUsageByParts(
  tx: LedgerTx,
  accountId: string,
  callId: string,
  cyclesWithin: (accountId: string) => Promise<Map<number, CycleCounters>>,
): Promise<UsageReads> {
  const account = await tx.getAccount(accountId, true);
  if (!account) return { account, earlier: null, cycles: new Map(), active: [] };
  return {
    account,
    earlier: await tx.findUsage(accountId, callId),
    cycles: await cyclesWithin(accountId),
    active: await tx.activePurchases(accountId),
  };
}

export async function writeUsageByParts(tx: LedgerTx, w: UsageWrite): Promise<void> {
  const { usage } = w;
  let seconds = 0;
  let usedUp = 0;
  for (const d of w.draws) {
    const drawn = await tx.drawFromPurchase(d.purchaseId, d.seconds);
    if (drawn.usedUp !== d.usedUp) throw new Error(`writeUsage: ${d.purchaseId} drawn otherwise`);
    seconds += d.seconds;
    if (d.usedUp) usedUp += 1;
  }
  const version = await tx.changeBalance(usage.accountId, -seconds, -usedUp);
  if (version !== usage.version) {
    throw new Error(`writeUsage: version ${version}, expected ${usage.version}`);
  }
  await tx.addToCycle(usage.accountId, usage.cycleStartMs, w.cycleDelta);
  await tx.insertUsage(usage);
}

/** Whether `start` lies in one of the windows. */
export const within = (windows: readonly (readonly [number, number])[], start: number) =>
  windows.some(([from, to]) => start >= from && start <= to);
