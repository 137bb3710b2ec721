import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { defaultCatalog, findPackage } from '../../server/domain/catalog.js';
import { chargeKeyOf } from '../../server/payments/gateway.js';
import { stripeIdempotencyKey } from '../../server/payments/stripe.js';
import type { PurchaseRow } from '../../server/store/types.js';
import { assertInvariants } from '../support/api.js';
import {
  cleanUpTargets,
  freePort,
  killApi,
  postgresTarget,
  sqliteTarget,
  startReadyApi,
  terminateApi,
  type ApiOptions,
  type ApiProcess,
  type LedgerTarget,
} from '../support/api-process.js';
import { allPurchases, assertResent, resendAll, send, type Op } from '../support/crash.js';
import { callApi, type Answer } from '../support/http.js';
import { prng } from '../support/net.js';
import { reported } from '../support/reliability-report.js';
import {
  startStripeDouble,
  type LoggedRequest,
  type PaymentIntentObject,
  type StripeDouble,
} from '../support/stripe-double.js';

/**
 * Crashes with Stripe payments: the Stripe test double runs in this process,
 * one real API process (`MINUTE_TOPUP_PAYMENTS=stripe`, `STRIPE_API_BASE` =
 * the double) on a SQLite file and on a fresh PostgreSQL database, accounts
 * linked to customers paying with `pm_card_visa`. Concurrent clients buy
 * (fresh keys, and again the keys whose answer was lost) and record usage
 * while the process is SIGKILLed and restarted on the same database:
 *
 * - at a random moment;
 * - while PaymentIntent creations are held at the double (released before
 *   the restart, so start-up recovery can find them, or after it, once the
 *   client's retry of a held key has met the first request still running at
 *   Stripe: Stripe answers that with a 409 `idempotency_key_in_use`, which the
 *   SDK sends once more and the API then answers 502 `payment_unavailable`;
 *   the client sends the key again later);
 * - exactly between Stripe's success and the credit: the double has made and
 *   confirmed the PaymentIntent, and the process is killed from the double's
 *   response hook before the answer leaves — checked on the ledger before the
 *   restart (intent pending, nothing credited), and start-up recovery must
 *   then credit it.
 *
 * Afterwards every request is re-sent with its key: acknowledged ones replay
 * their first answer byte for byte, unacknowledged ones are applied once.
 * Then, with the last process ended and the ledger read directly: exactly one
 * PaymentIntent per purchase key at the double (by metadata), every one of
 * them succeeded and credited exactly once (purchase rows ↔ PaymentIntents by
 * payment reference), no purchase left pending, no second of usage lost or
 * doubled, and the ledger's invariants.
 *
 * CRASH_SEED=<n> replays the random choices of a run (not the timing);
 * CRASH_STRIPE_KILLS (else CRASH_KILLS, default 10) and CRASH_STRIPE_CLIENTS
 * (default 6) size it; CRASH_STRIPE_CONCURRENT=wait makes the double hold a
 * concurrent request under a key until the first is done instead of Stripe's
 * 409.
 */

const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
const KILLS = Number(process.env.CRASH_STRIPE_KILLS ?? process.env.CRASH_KILLS ?? 10);
const CLIENTS = Number(process.env.CRASH_STRIPE_CLIENTS ?? 6);
const CONCURRENT: 'conflict' | 'wait' =
  process.env.CRASH_STRIPE_CONCURRENT === 'wait' ? 'wait' : 'conflict';
after(cleanUpTargets);

const ACCOUNTS = ['acct-0', 'acct-1', 'acct-2', 'acct-3'];
const customerOf = (accountId: string) => `cus_crash_${accountId.replace(/\W/g, '_')}`;
const PLAN = 'starter';
const ALLOWANCE = defaultCatalog.plans.find((p) => p.id === PLAN)!.monthlyMinutes * 60;
const PACKAGES = ['small', 'medium', 'large'] as const;
/** Share of new requests that are purchases (the rest record usage). */
const PURCHASE_SHARE = 0.3;
/** Share of a client's turns spent re-sending a request whose answer was lost, when it has one. */
const RETRY_SHARE = 0.5;
/** How long an awaited event (a PaymentIntent request arriving, a kill) may take at most. */
const EVENT_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const isCreation = (r: LoggedRequest) => r.method === 'POST' && r.path === '/v1/payment_intents';
/** A purchase key at Stripe: the account and the client's key, from the PaymentIntent's metadata. */
const pairOf = (accountId: string, purchaseKey: string) => JSON.stringify([accountId, purchaseKey]);
const pairOfIntent = (pi: PaymentIntentObject) =>
  pairOf(pi.metadata.accountId ?? '', pi.metadata.purchaseKey ?? '');

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An op of this suite; its `failed` leaves out `payment_unavailable`, kept in `unavailable`. */
interface StripeOp extends Op {
  /** How often it was sent during the load. */
  sends: number;
  /** 502 `payment_unavailable` answers (Stripe busy with the key): sent again, like a lost one. */
  unavailable: Answer[];
}

/** A purchase may wait at the double (held PaymentIntents): longer than the default 15 s. */
const sendOp = (base: string, op: Op) => send(base, op, { purchaseTimeoutMs: 40_000 });

/**
 * How a kill is placed. `random`: at a random moment. `held-before` /
 * `held-after`: once a PaymentIntent creation is held at the double; the hold
 * is released before the restart / after it, once a retry of a held key has
 * met the held request at Stripe. `after-success`: from the double's
 * response hook, once a PaymentIntent has been made and confirmed and before
 * its answer is sent.
 */
type KillMode = 'random' | 'held-before' | 'held-after' | 'after-success';

/** `kills` modes in a random order, each of the three targeted ones at least once (from 3 kills). */
function killPlan(kills: number, rand: () => number): KillMode[] {
  const required: KillMode[] = ['after-success', 'held-before', 'held-after'];
  const plan = required.slice(0, kills);
  const pool: KillMode[] = ['random', 'random', 'after-success', 'held-before', 'held-after'];
  while (plan.length < kills) plan.push(pool[Math.floor(rand() * pool.length)]);
  for (let i = plan.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  return plan;
}

async function crashUnderLoad(t: TestContext, target: LedgerTarget): Promise<void> {
  const seed = SEED + (target.name === 'SQLite' ? 0 : 1);
  t.diagnostic(`seed ${seed} (CRASH_SEED=${SEED} replays the choices of this run)`);
  const rand = prng(seed);
  const plan = killPlan(KILLS, rand);
  const stripe: StripeDouble = await startStripeDouble({ concurrentRequests: CONCURRENT });
  t.after(() => stripe.close());
  for (const id of ACCOUNTS) stripe.addCustomer(customerOf(id), 'pm_card_visa');

  const port = await freePort();
  const options: ApiOptions = {
    port,
    databaseUrl: target.databaseUrl,
    // Unused with Stripe; given so that nothing is written beside the database.
    chargesFile: join(target.dir, 'unused-test-gateway-charges.jsonl'),
    env: {
      MINUTE_TOPUP_PAYMENTS: 'stripe',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
    },
  };

  const started = Date.now();
  const ops: StripeOp[] = [];
  let sent = 0;
  let retriesDuringLoad = 0;
  let kills = 0;
  let restarts = 0;
  /** Purchases paid at Stripe but not credited at a kill, completed by start-up recovery. */
  let recovered = 0;
  const killsBy: Record<KillMode, number> = {
    random: 0,
    'held-before': 0,
    'held-after': 0,
    'after-success': 0,
  };
  /** `after-success` kills seen on the ledger: PaymentIntent succeeded, intent pending, not credited. */
  let windowsSeen = 0;
  let loadMs = 0;
  let intents: PaymentIntentObject[] = [];
  let credited = 0;
  let api: ApiProcess | undefined;
  /** Every process of the run, for what they wrote to stderr. */
  const processes: ApiProcess[] = [];
  const stderrOfAll = () =>
    processes
      .map((p, n) => (p.stderr() ? `--- process ${n + 1}:\n${p.stderr()}` : ''))
      .join('')
      .slice(0, 6000);
  /** Per kill: its mode, how long its moment took to come, and how long the restart took. */
  const timeline: string[] = [];

  const usage = () => ops.filter((o) => o.kind === 'usage');
  const purchases = () => ops.filter((o) => o.kind === 'purchase');
  const acked = () => ops.filter((o) => o.acked);
  const unacked = () => ops.filter((o) => !o.acked && o.failed.length === 0);
  /** Requests whose answer was lost at least once (re-sent during the load or after it). */
  const everLost = () => ops.filter((o) => o.lost > 0);
  const failures = () => ops.flatMap((o) => o.failed);
  const unavailable = () => ops.flatMap((o) => o.unavailable);
  /** Retries of a key that met its first PaymentIntent request still running at Stripe. */
  let metInFlight = 0;
  /** Keys answered 2xx during the load a second time with another answer than the first. */
  const replayMismatches: string[] = [];
  const creations = () => stripe.requests.filter(isCreation);

  await reported(
    {
      tried: `SIGKILL under load with Stripe payments, restart on the same database (${target.name})`,
      check:
        'one PaymentIntent per purchase key; every succeeded PaymentIntent credited exactly once; ' +
        'a kill between Stripe’s success and the credit completed at start-up; acknowledged answers ' +
        'replayed byte for byte; unacknowledged applied once after a re-send; invariants; Σ seconds conserved',
      figures: () =>
        `${sent} requests (${usage().length} usage, ${purchases().length} purchases, ` +
        `${retriesDuringLoad} re-sends of lost answers) from ${CLIENTS} clients, ` +
        `${acked().length} acknowledged during the load, ${everLost().length} answers lost (${everLost().filter((o) => o.kind === 'purchase').length} purchases), ` +
        `${unacked().length} still unanswered after the load (re-sent), ` +
        `${kills} SIGKILLs (${killsBy['after-success']} between Stripe’s success and the credit, ` +
        `${killsBy['held-before'] + killsBy['held-after']} with PaymentIntents held at Stripe, ` +
        `${killsBy.random} at random), ${restarts} restarts, ` +
        `${recovered} purchases completed by start-up recovery, ` +
        `${intents.length} PaymentIntents (${creations().length} creation requests, ` +
        `${creations().filter((r) => r.replayed).length} replayed), ${credited} credited, ` +
        `${metInFlight} retries met their key's first request still running at Stripe ` +
        `(${creations().filter((r) => r.status === 409).length} Stripe 409s, ` +
        `${unavailable().length} 502 payment_unavailable answers, re-sent), ` +
        `${failures().length} other error answers, ${(loadMs / 1000).toFixed(1)} s of load, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s in all`,
    },
    async () => {
      api = await startReadyApi(options);
      processes.push(api);
      assert.match(api.output(), /Payments with Stripe/, api.output());
      for (const id of ACCOUNTS) {
        const res = await callApi(api.base, 'PUT', `/v1/accounts/${id}`, {
          planId: PLAN,
          stripeCustomerId: customerOf(id),
        });
        assert.equal(res.status, 201, res.text);
        assert.equal(res.body.stripeCustomerId, customerOf(id));
      }

      let running = true;
      // Clients wait on `up` while the process is down (rather than spin on refusals).
      let up: Promise<void> = Promise.resolve();
      let reopen: () => void = () => undefined;
      const goDown = () => {
        up = new Promise((r) => (reopen = r));
      };

      const sendCounted = (op: StripeOp) => {
        sent += 1;
        op.sends += 1;
        if (op.sends > 1) retriesDuringLoad += 1;
        return sendOp(api!.base, op);
      };
      /** Keeps an answer of the load with its request; true when the client is to send it again. */
      const record = (op: StripeOp, res: Answer): boolean => {
        if (res.status === 0) {
          op.lost += 1;
          return !op.acked;
        }
        if (res.status >= 200 && res.status < 300) {
          if (op.acked && res.text !== op.acked.text) replayMismatches.push(op.id);
          op.acked ??= res;
          return false;
        }
        if (res.status === 502 && res.body?.error?.code === 'payment_unavailable') {
          op.unavailable.push(res);
          return !op.acked;
        }
        op.failed.push(res);
        return false;
      };

      const client = async (n: number) => {
        /** This client's requests whose answer was lost, to be sent again. */
        const lost: StripeOp[] = [];
        for (let i = 0; running; i += 1) {
          await up;
          if (!running) break;
          let op: StripeOp;
          if (lost.length > 0 && rand() < RETRY_SHARE) {
            op = lost.splice(Math.floor(rand() * lost.length), 1)[0];
          } else {
            const accountId = ACCOUNTS[Math.floor(rand() * ACCOUNTS.length)];
            op =
              rand() < PURCHASE_SHARE
                ? {
                    kind: 'purchase',
                    accountId,
                    id: `key-${seed}-${n}-${i}`,
                    packageId: PACKAGES[Math.floor(rand() * PACKAGES.length)],
                    sends: 0,
                    lost: 0,
                    unavailable: [],
                    failed: [],
                  }
                : {
                    kind: 'usage',
                    accountId,
                    id: `call-${seed}-${n}-${i}`,
                    seconds: 1 + Math.floor(rand() * 1200),
                    sends: 0,
                    lost: 0,
                    unavailable: [],
                    failed: [],
                  };
            ops.push(op);
          }
          if (record(op, await sendCounted(op))) lost.push(op);
          // A client's pace: a few hundred requests in a run, not thousands.
          await sleep(Math.floor(rand() * 40));
        }
      };

      /** Kills the process from the double's response hook once a PaymentIntent has succeeded. */
      const killAfterSuccess = (current: ApiProcess) => {
        const from = stripe.requests.length;
        let killed!: (request: LoggedRequest) => void;
        const done = new Promise<LoggedRequest>((r) => (killed = r));
        stripe.failNextResponses(1, (request) => {
          const fresh =
            isCreation(request) &&
            request.status === 200 &&
            !request.replayed &&
            stripe.requests.indexOf(request) >= from;
          if (!fresh) return false;
          // Synchronously, before the double writes the answer: the process never reads it.
          current.child.kill('SIGKILL');
          goDown();
          killed(request);
          return true;
        });
        return done;
      };

      /** Asserts what the ledger holds right after an `after-success` kill: paid at Stripe, not credited. */
      const assertInTheWindow = async (request: LoggedRequest) => {
        const metadata = request.params.metadata as Record<string, string>;
        const { accountId, purchaseKey } = metadata;
        const paid = stripe
          .paymentIntents()
          .filter((pi) => pairOfIntent(pi) === pairOf(accountId, purchaseKey));
        assert.equal(paid.length, 1, `one PaymentIntent for ${purchaseKey}`);
        assert.equal(paid[0].status, 'succeeded');
        const store = await target.openStore();
        try {
          const seen = await store.transact(
            async (tx) => ({
              intent: await tx.findIntent(accountId, purchaseKey),
              byRef: await tx.findPurchaseByPaymentRef(paid[0].id),
              byKey: await tx.findPurchaseByKey(accountId, purchaseKey),
            }),
            { readOnly: true },
          );
          assert.equal(seen.intent?.status, 'pending', `${purchaseKey}: intent pending`);
          assert.equal(seen.byRef, null, `${purchaseKey}: not credited before the restart`);
          assert.equal(seen.byKey, null);
        } finally {
          await store.close();
        }
        windowsSeen += 1;
      };

      /** Lets held PaymentIntent creations go on. */
      let release: (() => void) | null = null;
      const releaseHeld = () => {
        release?.();
        release = null;
      };

      /**
       * The client of the purchase `first` was made for sends its key again while
       * `first` is still held at Stripe (the other clients wait, so that their
       * own purchases are not held too): the retry's creation waits for the
       * first one (`wait`), or is answered 409 `idempotency_key_in_use` as Stripe
       * does, which the SDK sends once more and the API then answers 502
       * `payment_unavailable`. The hold is released once Stripe has seen it.
       */
      const retryWhileHeld = async (first: LoggedRequest) => {
        const { accountId, purchaseKey } = first.params.metadata as Record<string, string>;
        const op = purchases().find((o) => o.accountId === accountId && o.id === purchaseKey);
        assert.ok(op, `the purchase of the held PaymentIntent ${purchaseKey}`);
        const sameKey = (r: LoggedRequest) =>
          isCreation(r) && r.idempotencyKey === first.idempotencyKey;
        const needed = stripe.requests.filter(sameKey).length + (CONCURRENT === 'conflict' ? 2 : 1);
        const answer = sendCounted(op);
        await within(
          EVENT_TIMEOUT_MS,
          `the retry of ${purchaseKey} at Stripe`,
          stripe.whenRequests(needed, sameKey),
        );
        metInFlight += 1;
        releaseHeld();
        const res = await answer;
        // Still the client's to send again (it is in its list of lost answers).
        record(op, res);
        if (CONCURRENT === 'conflict') {
          assert.equal(res.status, 502, `Stripe busy with ${purchaseKey}: ${res.text}`);
          assert.equal(res.body.error.code, 'payment_unavailable');
        } else {
          assert.equal(res.status, 201, `${purchaseKey} completed after the wait: ${res.text}`);
        }
      };

      const chaos = async () => {
        try {
          for (const mode of plan) {
            await sleep(150 + Math.floor(rand() * 450));
            const aimed = Date.now();
            const current = api!;
            let inWindow: LoggedRequest | null = null;
            if (mode === 'random') {
              goDown();
              await killApi(current);
            } else if (mode === 'after-success') {
              inWindow = await within(
                EVENT_TIMEOUT_MS,
                'PaymentIntent succeeding at the double',
                killAfterSuccess(current),
              );
            } else {
              release = stripe.holdPaymentIntents();
              await within(
                EVENT_TIMEOUT_MS,
                'PaymentIntent creation held at the double',
                stripe.whenRequests(creations().length + 1, isCreation),
              );
              goDown();
              await killApi(current);
            }
            const exit = await current.exited;
            const killedAt = Date.now();
            assert.equal(
              exit.signal,
              'SIGKILL',
              `killed, not exited on its own:\n${current.output()}`,
            );
            kills += 1;
            killsBy[mode] += 1;
            if (inWindow) await assertInTheWindow(inWindow);
            // The creations the kill left running (held) at the double.
            const held = creations().filter((r) => r.status === undefined);
            // Released with nobody listening: Stripe confirms PaymentIntents the process never hears of.
            if (mode === 'held-before') releaseHeld();
            api = await startReadyApi(options);
            processes.push(api);
            restarts += 1;
            timeline.push(`${mode} ${killedAt - aimed}+${Date.now() - killedAt} ms`);
            const completed = Number(/Completed (\d+) purchase/.exec(api.output())?.[1] ?? 0);
            recovered += completed;
            if (inWindow) {
              assert.ok(
                completed >= 1,
                `start-up recovery completes the purchase paid at Stripe before the kill:\n${api.output()}`,
              );
            }
            if (mode === 'held-after') await retryWhileHeld(held[0]);
            releaseHeld();
            reopen();
          }
          await sleep(300);
        } finally {
          releaseHeld();
          // Also when a restart failed: the clients must not wait for ever.
          stripe.failNextResponses(0);
          running = false;
          reopen();
        }
      };

      await Promise.all([chaos(), ...Array.from({ length: CLIENTS }, (_, n) => client(n))]);
      loadMs = Date.now() - started;
      const base = api.base;

      t.diagnostic(
        `${sent} requests, ${acked().length} acknowledged, ${everLost().length} answers lost, ` +
          `${unacked().length} unanswered after the load, ` +
          `${kills} kills (${JSON.stringify(killsBy)}), ${windowsSeen} seen between success and credit, ` +
          `${recovered} recovered at start-up, in ${loadMs} ms`,
      );
      t.diagnostic(`kills (mode, wait for the moment + restart): ${timeline.join(', ')}`);
      assert.deepEqual(replayMismatches, [], 'a key answered again replays its first answer');
      assert.ok(everLost().length > 0, 'some requests were in flight when the process was killed');
      assert.ok(
        everLost().some((o) => o.kind === 'purchase'),
        'some purchases were in flight when the process was killed',
      );
      assert.deepEqual(
        ops.flatMap((o) =>
          o.failed.map((f) => `${o.kind} ${o.id} (send ${o.sends}): ${f.status} ${f.text}`),
        ),
        [],
        `no error answers (5xx or otherwise) but payment_unavailable; the API's stderr:\n${stderrOfAll()}`,
      );
      // payment_unavailable only for a purchase whose key Stripe was still busy with (409).
      assert.deepEqual(
        ops.filter((o) => o.unavailable.length > 0 && o.kind !== 'purchase').map((o) => o.id),
        [],
      );
      // …and only one whose key Stripe answered with a 409 (none when it makes them wait).
      const busy = new Set(
        creations()
          .filter((r) => r.status === 409)
          .map((r) => {
            const metadata = r.params.metadata as Record<string, string> | undefined;
            return pairOf(metadata?.accountId ?? '', metadata?.purchaseKey ?? '');
          }),
      );
      assert.deepEqual(
        ops
          .filter((o) => o.unavailable.length > 0 && !busy.has(pairOf(o.accountId, o.id)))
          .map((o) => o.id),
        [],
        'payment_unavailable only for a key Stripe answered 409',
      );

      // Every request re-sent with its key: acknowledged ones replay, the others are applied.
      await resendAll(ops, CLIENTS, (op) => sendOp(base, op));
      assertResent(ops, { credited: true });

      // The last process shuts down cleanly; the ledger is then read directly.
      const exit = await terminateApi(api);
      assert.deepEqual(
        { code: exit.code, signal: exit.signal },
        { code: 0, signal: null },
        api.output(),
      );

      // Exactly one PaymentIntent per purchase key at Stripe, under the key the design derives.
      intents = stripe.paymentIntents();
      const bought = new Map(purchases().map((o) => [pairOf(o.accountId, o.id), o]));
      const perKey = new Map<string, PaymentIntentObject[]>();
      for (const pi of intents)
        perKey.set(pairOfIntent(pi), [...(perKey.get(pairOfIntent(pi)) ?? []), pi]);
      assert.deepEqual(
        [...perKey]
          .filter(([, pis]) => pis.length > 1)
          .map(([key, pis]) => `${key}: ${pis.length}`),
        [],
        'no purchase key with a second PaymentIntent',
      );
      assert.deepEqual(
        [...perKey.keys()].sort(),
        [...bought.keys()].sort(),
        'one PaymentIntent per purchase key, none for anything else',
      );
      const creationKeys = new Set(creations().map((r) => r.idempotencyKey));
      for (const pi of intents) {
        const op = bought.get(pairOfIntent(pi))!;
        const pkg = findPackage(defaultCatalog, op.packageId!);
        assert.equal(pi.status, 'succeeded', `${pi.id} (${op.id}) succeeded with pm_card_visa`);
        assert.equal(pi.customer, customerOf(op.accountId));
        assert.equal(pi.amount, pkg.priceMinor, `${pi.id}: the package's price`);
        assert.equal(pi.metadata.packageId, op.packageId);
        assert.equal(pi.metadata.chargeKey, await chargeKeyOf(op.accountId, op.id));
        const stripeKey = stripeIdempotencyKey({
          idempotencyKey: pi.metadata.chargeKey,
          attempt: pi.metadata.attempt ?? '',
        });
        assert.ok(creationKeys.has(stripeKey), `${pi.id}: created under its derived key`);
      }
      assert.equal(
        creationKeys.size,
        intents.length,
        'one Stripe idempotency key per PaymentIntent',
      );

      const store = await target.openStore();
      try {
        const audit = await store.audit();
        assertInvariants(audit, () => ALLOWANCE);

        // Every succeeded PaymentIntent credited exactly once, and nothing credited without one.
        const rows = await allPurchases(store, ACCOUNTS);
        credited = rows.length;
        const byRef = new Map<string, PurchaseRow[]>();
        for (const row of rows)
          byRef.set(row.paymentRef, [...(byRef.get(row.paymentRef) ?? []), row]);
        for (const pi of intents) {
          const paid = byRef.get(pi.id) ?? [];
          assert.equal(paid.length, 1, `${pi.id} (${pi.metadata.purchaseKey}) credited once`);
          const [row] = paid;
          assert.equal(row.accountId, pi.metadata.accountId);
          assert.equal(row.idempotencyKey, pi.metadata.purchaseKey);
          assert.equal(row.packageId, pi.metadata.packageId);
          assert.equal(row.priceMinor, pi.amount);
          const op = bought.get(pairOfIntent(pi))!;
          assert.equal(row.id, op.final!.body.purchase.id, `purchase ${op.id}: the answered id`);
          assert.equal(row.totalSeconds, findPackage(defaultCatalog, op.packageId!).minutes * 60);
        }
        const known = new Set(intents.map((pi) => pi.id));
        assert.deepEqual(
          rows.filter((r) => !known.has(r.paymentRef)).map((r) => `${r.id} ${r.paymentRef}`),
          [],
          'every credited purchase has its PaymentIntent',
        );
        assert.equal(rows.length, bought.size, 'one purchase per key');
        assert.equal(audit.purchases.length, bought.size);
        assert.deepEqual(
          await store.transact((tx) => tx.pendingIntents(), { readOnly: true }),
          [],
          'no purchase left pending',
        );

        // No second of usage lost or doubled.
        const sentSeconds = new Map(usage().map((o) => [o.id, o.seconds!]));
        assert.equal(audit.usages.length, sentSeconds.size, 'one usage per distinct callId');
        for (const u of audit.usages) {
          assert.equal(u.seconds, sentSeconds.get(u.callId), `usage ${u.callId}`);
        }
        const cycles = audit.cycles;
        const used = sum(
          cycles.map((c) => c.planUsedSeconds + c.extraUsedSeconds + c.overageSeconds),
        );
        assert.equal(used, sum([...sentSeconds.values()]), 'cycle counters conserve every second');
      } finally {
        await store.close();
      }
      t.diagnostic(
        `${intents.length} PaymentIntents, ${credited} credited, ${creations().length} creation requests ` +
          `(${creations().filter((r) => r.replayed).length} replayed), ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    },
  );
}

const targets: [string, LedgerTarget | null][] = [
  ['SQLite', sqliteTarget()],
  ['PostgreSQL', await postgresTarget()],
];

for (const [name, target] of targets) {
  describe(`crashes with Stripe payments (${name})`, () => {
    test(
      'SIGKILL under load, also between Stripe’s success and the credit: one PaymentIntent per key, each credited once',
      {
        skip: target ? false : 'PostgreSQL not reachable — the PostgreSQL suites are skipped.',
        timeout: 240_000,
      },
      (t) => crashUnderLoad(t, target!),
    );
  });
}
