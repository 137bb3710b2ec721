import { Hono, type Context } from 'hono';
import type { PurchaseListDto } from '../../contract/index.js';
import { accountAccess, buyAccess, secretOnly, type AuthEnv } from '../http/auth.js';
import { csvDownload } from '../http/csv.js';
import { HttpError } from '../http/errors.js';
import {
  describeIssues,
  idempotencyKey,
  idSchema,
  jsonBody,
  pathId,
  schemas,
} from '../http/validation.js';
import type { Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import { rateLimit } from '../http/rate-limit.js';
import type { LiveBalances } from '../live/balances.js';
import { balanceStream } from '../live/stream.js';

/** `Last-Event-ID`: the version the client saw last; -1 (none) when absent or not a version. */
function lastEventId(header: string | undefined): number {
  const n = Number(header);
  return header && /^\d{1,15}$/.test(header.trim()) && Number.isSafeInteger(n) ? n : -1;
}

/** A refund's body: none, or `{}` (a field there would be ignored, so it is refused). */
async function assertNoRefundBody(c: Context): Promise<void> {
  const text = await c.req.text();
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError('invalid_json', 'The body is not valid JSON.');
  }
  const parsed = schemas.refund.safeParse(value);
  if (!parsed.success) {
    throw new HttpError(
      'invalid_request',
      `A refund takes no body: it returns the unused share of the price (${describeIssues(parsed.error)}).`,
    );
  }
}

/** `/v1/accounts/:id/…`: balances, packages, usage and upgrade advice. */
export function accountRoutes(
  ledger: Ledger,
  options: {
    purchasesPerMinute: number;
    readsPerMinute: number;
    clock: Clock;
    live: LiveBalances;
    /** A comment on each live stream this often. */
    heartbeatMs: number;
  },
) {
  // Counted once the caller may act for the account, so account B's token
  // cannot use up account A's budget. Replays of a key count too.
  const purchaseLimit = rateLimit<AuthEnv, '/:id/purchases'>({
    limit: options.purchasesPerMinute,
    clock: options.clock,
    keyOf: (c) => (idSchema.safeParse(c.req.param('id')).success ? c.req.param('id') : undefined),
    message: 'Too many purchases for this account.',
  });
  // Widget reads (every GET or HEAD under /:id/ — Hono answers HEAD with the
  // GET handler, so it reads the ledger too), per account, counted only for a
  // token of that very account: another account's token is refused by
  // `accountAccess` without spending this account's budget. The secret key is
  // the host's own backend, not a page on the internet: it is not counted.
  const readLimit = rateLimit<AuthEnv, '/:id/*'>({
    limit: options.readsPerMinute,
    clock: options.clock,
    keyOf: (c) => {
      const caller = c.get('caller');
      const reads = c.req.method === 'GET' || c.req.method === 'HEAD';
      if (!reads || caller.kind !== 'widget') return undefined;
      return caller.accountId === c.req.param('id') ? caller.accountId : undefined;
    },
    maxKeys: 100_000,
    message: 'Too many reads for this account.',
  });
  return (
    new Hono<AuthEnv>()
      .use('/:id/*', readLimit)
      .put('/:id', secretOnly, jsonBody(schemas.account), async (c) => {
        const { planId, cycleAnchor, stripeCustomerId } = c.req.valid('json');
        const { account, created } = await ledger.putAccount(
          pathId(c),
          planId,
          cycleAnchor,
          stripeCustomerId,
        );
        return c.json(account, created ? 201 : 200);
      })
      .get('/:id', secretOnly, async (c) => c.json(await ledger.getAccount(pathId(c))))
      .get('/:id/balance', accountAccess, async (c) => c.json(await ledger.balance(pathId(c))))
      // The live balance: one request (one read counted) however long it stays open.
      .get('/:id/events', accountAccess, async (c) => {
        const caller = c.get('caller');
        // The account must exist: a 404 before any byte of the stream.
        await ledger.getAccount(pathId(c));
        const body = balanceStream({
          accountId: pathId(c),
          lastVersion: lastEventId(c.req.header('last-event-id')),
          expiresAtMs: caller.kind === 'widget' ? caller.expiresAtMs : undefined,
          live: options.live,
          clock: options.clock,
          heartbeatMs: options.heartbeatMs,
        });
        return new Response(body, {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            // Proxies that buffer (nginx) pass it on at once.
            'x-accel-buffering': 'no',
          },
        });
      })
      .get('/:id/purchases', accountAccess, async (c) => {
        const body: PurchaseListDto = { purchases: await ledger.listPurchases(pathId(c)) };
        return c.json(body);
      })
      .post(
        '/:id/purchases',
        accountAccess,
        buyAccess,
        purchaseLimit,
        jsonBody(schemas.purchase),
        async (c) => {
          const id = pathId(c);
          const key = idempotencyKey(c, 'purchase');
          const { packageId } = c.req.valid('json');
          // 201 credited; 202 while the payment waits for the customer or the processor.
          const outcome = await ledger.purchase(id, packageId, key);
          return outcome.status === 201 ? c.json(outcome.body, 201) : c.json(outcome.body, 202);
        },
      )
      .post('/:id/purchases/:purchaseId/refund', secretOnly, async (c) => {
        const id = pathId(c);
        const purchaseId = pathId(c, 'purchaseId');
        const key = idempotencyKey(c, 'refund');
        await assertNoRefundBody(c);
        return c.json(await ledger.refund(id, purchaseId, key));
      })
      .post('/:id/grants', secretOnly, jsonBody(schemas.grant), async (c) => {
        const id = pathId(c);
        const key = idempotencyKey(c, 'grant');
        const { minutes, reason } = c.req.valid('json');
        return c.json(await ledger.grant(id, minutes, reason, key), 201);
      })
      .get('/:id/usage', accountAccess, async (c) => {
        const query = schemas.usagePage.safeParse(c.req.query());
        if (!query.success) throw new HttpError('invalid_request', describeIssues(query.error));
        return c.json(await ledger.usageHistory(pathId(c), query.data));
      })
      .get('/:id/ledger.csv', secretOnly, async (c) => {
        const id = pathId(c);
        return csvDownload(await ledger.exportCsv(id), `minute-topup-${id}-ledger.csv`);
      })
      .post('/:id/usage', secretOnly, jsonBody(schemas.usage), async (c) => {
        const { callId, seconds, occurredAt } = c.req.valid('json');
        return c.json(await ledger.recordUsage(pathId(c), callId, seconds, occurredAt));
      })
      .get('/:id/auto-topup', accountAccess, async (c) => c.json(await ledger.autoTopup(pathId(c))))
      .put('/:id/auto-topup', accountAccess, buyAccess, jsonBody(schemas.autoTopup), async (c) =>
        c.json(await ledger.putAutoTopup(pathId(c), c.req.valid('json'))),
      )
      .get('/:id/recommendation', accountAccess, async (c) =>
        c.json(await ledger.recommendation(pathId(c))),
      )
  );
}
