import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { DomainError } from '../../server/domain/errors.js';
import {
  AUTHENTICATION_NEEDED,
  ChargeConflictError,
  chargeKeyOf,
  type ChargeLookup,
  type ChargeRequest,
  refundKeyOf,
  type RefundRequest,
} from '../../server/payments/gateway.js';
import { StripeGateway, stripeIdempotencyKey } from '../../server/payments/stripe.js';
import {
  startStripeDouble,
  type LoggedRequest,
  type StripeDouble,
} from '../support/stripe-double.js';

/** Generous: the SDK waits 0.5–1 s before each retry, and the suite must hold on a loaded 2-core machine. */
const slow = { timeout: 60_000 };

const chargeKey = await chargeKeyOf('acct-1', 'purchase-1');

const request = (over: Partial<ChargeRequest> = {}): ChargeRequest => ({
  idempotencyKey: chargeKey,
  attempt: '',
  accountId: 'acct-1',
  purchaseKey: 'purchase-1',
  packageId: 'small',
  customerId: 'cus_visa',
  amountMinor: 1500,
  currency: 'USD',
  description: 'Small: 50 voice minutes',
  ...over,
});

const lookup = (over: Partial<ChargeLookup> = {}): ChargeLookup => ({
  idempotencyKey: chargeKey,
  attempt: '',
  accountId: 'acct-1',
  customerId: 'cus_visa',
  amountMinor: 1500,
  currency: 'USD',
  sinceMs: Date.now(),
  ...over,
});

/** One double and one gateway per test, with a customer for each scripted card. */
async function setup(
  t: TestContext,
  options: { maxNetworkRetries?: number; concurrentRequests?: 'wait' | 'conflict' } = {},
): Promise<{ double: StripeDouble; gateway: StripeGateway }> {
  const double = await startStripeDouble({ concurrentRequests: options.concurrentRequests });
  t.after(() => double.close());
  double.addCustomer('cus_visa', 'pm_card_visa');
  double.addCustomer('cus_declined', 'pm_card_chargeDeclined');
  double.addCustomer('cus_3ds', 'pm_card_authenticationRequired');
  double.addCustomer('cus_processing', 'pm_card_processing');
  double.addCustomer('cus_no_card', null);
  double.addCustomer('cus_pending_refund', 'pm_card_pendingRefund');
  const gateway = new StripeGateway({
    secretKey: double.secretKey,
    webhookSecret: double.webhookSecret,
    apiBase: double.url,
    maxNetworkRetries: options.maxNetworkRetries,
  });
  return { double, gateway };
}

const creations = (double: StripeDouble) =>
  double.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
const isCreation = (r: LoggedRequest) => r.method === 'POST' && r.path === '/v1/payment_intents';
const isRefund = (r: LoggedRequest) => r.method === 'POST' && r.path === '/v1/refunds';
const refundCalls = (double: StripeDouble) => double.requests.filter(isRefund);

/** A purchase paid through the gateway: its PaymentIntent id. */
async function paid(gateway: StripeGateway, over: Partial<ChargeRequest> = {}): Promise<string> {
  const result = await gateway.charge(request(over));
  assert.equal(result.status, 'approved');
  return result.status === 'approved' ? result.reference : '';
}

const refundOf = (paymentRef: string, over: Partial<RefundRequest> = {}): RefundRequest => ({
  idempotencyKey: refundKeyOf('pur-1'),
  accountId: 'acct-1',
  purchaseId: 'pur-1',
  paymentRef,
  amountMinor: 600,
  currency: 'USD',
  ...over,
});

const domainError = (code: string, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
  assert.equal(error.code, code);
  if (message) assert.match(error.message, message);
  return true;
};

async function raw(double: StripeDouble, path: string, body: string, headers = {}) {
  const response = await fetch(`${double.url}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${double.secretKey}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    body,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { error?: { type: string; code?: string; message: string } },
  };
}

describe('stripeIdempotencyKey', () => {
  it('is the charge key alone without an attempt, and the key and attempt apart otherwise', () => {
    assert.equal(stripeIdempotencyKey({ idempotencyKey: 'ab12', attempt: '' }), 'ab12');
    assert.equal(stripeIdempotencyKey({ idempotencyKey: 'ab12', attempt: '2' }), 'ab12-2');
  });
});

describe('StripeGateway.charge', () => {
  it('approves a saved card with one PaymentIntent made exactly as designed', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const result = await gateway.charge(request({ attempt: 'a1' }));
    const [intent] = double.paymentIntents();
    assert.deepEqual(result, { status: 'approved', reference: intent.id });
    assert.deepEqual(
      double.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /v1/customers/cus_visa', 'POST /v1/payment_intents'],
    );
    const [create] = creations(double);
    assert.equal(create.idempotencyKey, `${chargeKey}-a1`);
    assert.deepEqual(create.params, {
      amount: '1500',
      currency: 'usd',
      customer: 'cus_visa',
      payment_method: 'pm_card_visa',
      confirm: 'true',
      automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
      description: 'Small: 50 voice minutes',
      metadata: {
        accountId: 'acct-1',
        packageId: 'small',
        purchaseKey: 'purchase-1',
        chargeKey,
        attempt: 'a1',
      },
    });
    assert.equal(intent.status, 'succeeded');
  });

  it('charges an empty attempt under the charge key alone', slow, async (t) => {
    const { double, gateway } = await setup(t);
    await gateway.charge(request());
    assert.equal(creations(double)[0].idempotencyKey, chargeKey);
    assert.equal(
      double.paymentIntents()[0].metadata.attempt,
      undefined,
      'Stripe keeps no empty value',
    );
  });

  it('makes one PaymentIntent per key and attempt across repeats', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await gateway.charge(request()));
    assert.equal(double.paymentIntents().length, 1);
    for (const result of results) assert.deepEqual(result, results[0]);
    assert.deepEqual(
      creations(double).map((r) => r.replayed ?? false),
      [false, true, true],
    );
  });

  it('makes one PaymentIntent for 10 concurrent identical charges', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const release = double.holdPaymentIntents();
    const charges = Array.from({ length: 10 }, () => gateway.charge(request()));
    await double.whenRequests(10, isCreation);
    release();
    const results = await Promise.all(charges);
    const [intent] = double.paymentIntents();
    assert.equal(double.paymentIntents().length, 1);
    for (const result of results)
      assert.deepEqual(result, { status: 'approved', reference: intent.id });
    assert.equal(creations(double).filter((r) => r.replayed).length, 9);
  });

  it(
    'survives Stripe refusing concurrent requests under one key (409), by retrying',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t, {
        concurrentRequests: 'conflict',
        maxNetworkRetries: 0,
      });
      const release = double.holdPaymentIntents();
      const charges = Array.from({ length: 10 }, () => gateway.charge(request()).catch((e) => e));
      await double.whenRequests(10, isCreation);
      release();
      const results = await Promise.all(charges);
      const [intent] = double.paymentIntents();
      const approved = results.filter((r) => !(r instanceof Error));
      assert.deepEqual(approved, [{ status: 'approved', reference: intent.id }]);
      for (const error of results.filter((r) => r instanceof Error)) {
        domainError('payment_unavailable')(error);
      }
      assert.equal(creations(double).filter((r) => r.status === 409).length, 9);
      assert.deepEqual(await gateway.charge(request()), {
        status: 'approved',
        reference: intent.id,
      });
      assert.equal(double.paymentIntents().length, 1);
    },
  );

  it('declines with Stripe’s message; a new attempt makes a new PaymentIntent', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const declined = request({ customerId: 'cus_declined', attempt: '1' });
    assert.deepEqual(await gateway.charge(declined), {
      status: 'declined',
      reason: 'Your card was declined.',
    });
    assert.deepEqual(await gateway.charge(declined), {
      status: 'declined',
      reason: 'Your card was declined.',
    });
    assert.equal(double.paymentIntents().length, 1, 'the repeat replays the decline');
    assert.equal(double.paymentIntents()[0].status, 'requires_payment_method');

    double.addCustomer('cus_declined', 'pm_card_visa'); // the customer saved another card
    const second = await gateway.charge({ ...declined, attempt: '2' });
    assert.equal(second.status, 'approved');
    assert.equal(double.paymentIntents().length, 2);
    assert.deepEqual(
      creations(double).map((r) => r.idempotencyKey),
      [`${chargeKey}-1`, `${chargeKey}-1`, `${chargeKey}-2`],
    );
  });

  it('refuses a repeat under one key with other parameters as charge_conflict', slow, async (t) => {
    const { double, gateway } = await setup(t);
    await gateway.charge(request());
    await assert.rejects(
      gateway.charge(request({ amountMinor: 5000 })),
      domainError('charge_conflict', /made no new charge/),
    );
    // So is a repeat of a declined attempt after the customer changed cards: a new attempt is needed.
    await gateway.charge(request({ customerId: 'cus_declined', attempt: '1' }));
    double.addCustomer('cus_declined', 'pm_card_visa');
    await assert.rejects(
      gateway.charge(request({ customerId: 'cus_declined', attempt: '1' })),
      domainError('charge_conflict'),
    );
    assert.equal(double.paymentIntents().length, 2);
  });

  it('asks for authentication, then follows the PaymentIntent', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const waiting = await gateway.charge(request({ customerId: 'cus_3ds' }));
    const [intent] = double.paymentIntents();
    assert.deepEqual(waiting, {
      status: 'requires_action',
      reference: intent.id,
      clientSecret: intent.client_secret,
    });
    assert.match(intent.client_secret, new RegExp(`^${intent.id}_secret_`));
    assert.equal(intent.next_action?.type, 'use_stripe_sdk');
    assert.deepEqual(await gateway.chargeState(intent.id), waiting);

    double.authenticate(intent.id, true);
    assert.deepEqual(await gateway.chargeState(intent.id), {
      status: 'approved',
      reference: intent.id,
    });
    // A repeat of the purchase replays the stored answer, then looks at the PaymentIntent now.
    assert.deepEqual(await gateway.charge(request({ customerId: 'cus_3ds' })), {
      status: 'approved',
      reference: intent.id,
    });
    assert.equal(double.paymentIntents().length, 1);
  });

  it(
    'charges an auto top-up off-session: a card that needs authentication is a decline asking for a purchase by hand',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t);
      const approved = await gateway.charge(request({ offSession: true }));
      assert.equal(approved.status, 'approved');
      const declined = await gateway.charge(
        request({ customerId: 'cus_3ds', offSession: true, attempt: 'auto-2' }),
      );
      assert.deepEqual(declined, { status: 'declined', reason: AUTHENTICATION_NEEDED });
      const sent = creations(double).map((r) => r.params.off_session);
      assert.deepEqual(sent, ['true', 'true']);
      // A purchase in the widget is not off-session: the same card asks the customer.
      const present = await gateway.charge(request({ customerId: 'cus_3ds', attempt: 'manual' }));
      assert.equal(present.status, 'requires_action');
      assert.equal(creations(double)[2].params.off_session, undefined);
    },
  );

  it('declines once the customer fails to authenticate', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const waiting = await gateway.charge(request({ customerId: 'cus_3ds' }));
    assert.equal(waiting.status, 'requires_action');
    const [intent] = double.paymentIntents();
    double.authenticate(intent.id, false);
    const declined = {
      status: 'declined',
      reason: /The provided PaymentMethod has failed authentication/,
    };
    const state = await gateway.chargeState(intent.id);
    assert.equal(state.status, declined.status);
    assert.match(state.status === 'declined' ? state.reason : '', declined.reason);
    const repeat = await gateway.charge(request({ customerId: 'cus_3ds' }));
    assert.deepEqual(repeat, state);
  });

  it('reports a payment Stripe has not decided as processing', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const result = await gateway.charge(request({ customerId: 'cus_processing' }));
    const [intent] = double.paymentIntents();
    assert.deepEqual(result, { status: 'processing', reference: intent.id });
    assert.deepEqual(await gateway.chargeState(intent.id), result);
  });

  it('requires a payment method without calling the PaymentIntents API', slow, async (t) => {
    const { double, gateway } = await setup(t);
    double.addCustomer('cus_gone', 'pm_card_visa');
    double.deleteCustomer('cus_gone');
    const cases: [string | null, string[]][] = [
      [null, []],
      ['cus_no_card', ['GET /v1/customers/cus_no_card']],
      ['cus_unknown', ['GET /v1/customers/cus_unknown']],
      ['cus_gone', ['GET /v1/customers/cus_gone']],
    ];
    for (const [customerId, calls] of cases) {
      const before = double.requests.length;
      const result = await gateway.charge(request({ customerId }));
      assert.equal(result.status, 'declined', String(customerId));
      assert.equal(result.status === 'declined' && result.code, 'payment_method_required');
      assert.deepEqual(
        double.requests.slice(before).map((r) => `${r.method} ${r.path}`),
        calls,
      );
    }
    assert.equal(double.requests.find((r) => r.path === '/v1/customers/cus_unknown')?.status, 404);
    assert.equal(double.paymentIntents().length, 0);
  });

  it(
    'is unavailable when the answer is lost, and a retry finds the same PaymentIntent',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t, { maxNetworkRetries: 0 });
      // Even with no retries the SDK retries a closed connection once: two failures in a row are needed.
      double.failNextResponses(2);
      await assert.rejects(
        gateway.charge(request()),
        domainError('payment_unavailable', /retry with the same key finds/),
      );
      const [intent] = double.paymentIntents();
      assert.equal(double.paymentIntents().length, 1, 'Stripe made it before the connection broke');
      assert.deepEqual(
        creations(double).map((r) => [r.idempotencyKey, r.dropped, r.replayed ?? false]),
        [
          [chargeKey, true, false],
          [chargeKey, true, true],
        ],
      );
      assert.deepEqual(await gateway.charge(request()), {
        status: 'approved',
        reference: intent.id,
      });
      assert.equal(double.paymentIntents().length, 1);
    },
  );

  it(
    'recovers from one lost answer on its own, with no retries or the default one',
    slow,
    async (t) => {
      for (const maxNetworkRetries of [0, undefined]) {
        const { double, gateway } = await setup(t, { maxNetworkRetries });
        double.failNextResponses(1);
        const result = await gateway.charge(request());
        const [intent] = double.paymentIntents();
        assert.deepEqual(result, { status: 'approved', reference: intent.id });
        assert.equal(double.paymentIntents().length, 1);
        assert.deepEqual(
          creations(double).map((r) => [r.dropped ?? false, r.replayed ?? false]),
          [
            [true, false],
            [false, true],
          ],
        );
      }
    },
  );

  it('is unavailable when Stripe fails or limits the rate', slow, async (t) => {
    const { double, gateway } = await setup(t, { maxNetworkRetries: 0 });
    double.rejectNextRequests(1, 500, { type: 'api_error', message: 'Something went wrong.' });
    await assert.rejects(gateway.charge(request()), domainError('payment_unavailable'));
    double.rejectNextRequests(1, 429, {
      type: 'invalid_request_error',
      code: 'rate_limit',
      message: 'Too many requests.',
    });
    await assert.rejects(gateway.charge(request()), domainError('payment_unavailable'));
    assert.equal(double.paymentIntents().length, 0);

    // With the default retry the SDK gets past one 500 itself.
    const retrying = await setup(t);
    retrying.double.rejectNextRequests(1, 500, { type: 'api_error', message: 'Oops.' }, isCreation);
    assert.equal((await retrying.gateway.charge(request())).status, 'approved');
    assert.equal(retrying.double.paymentIntents().length, 1);
  });

  it('passes on errors it cannot interpret, such as a wrong secret key', slow, async (t) => {
    const double = await startStripeDouble();
    t.after(() => double.close());
    double.addCustomer('cus_visa', 'pm_card_visa');
    const gateway = new StripeGateway({
      secretKey: 'sk_test_wrong_key_1234',
      webhookSecret: double.webhookSecret,
      apiBase: double.url,
    });
    await assert.rejects(gateway.charge(request()), (error: unknown) => {
      assert.ok(!(error instanceof DomainError));
      assert.equal((error as Error & { type?: string }).type, 'StripeAuthenticationError');
      return true;
    });
    assert.equal(double.requests[0].status, 401);
  });
});

describe('StripeGateway.refund', () => {
  it(
    'refunds exactly the amount asked, under the request’s key, with one call',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t);
      const intentId = await paid(gateway);
      const before = double.requests.length;
      const result = await gateway.refund(refundOf(intentId));
      const [refund] = double.refunds();
      assert.deepEqual(result, { reference: refund.id });
      assert.match(refund.id, /^re_/);
      assert.deepEqual(
        double.requests.slice(before).map((r) => `${r.method} ${r.path}`),
        ['POST /v1/refunds'],
      );
      const [call] = refundCalls(double);
      assert.equal(call.idempotencyKey, 'refund-pur-1');
      assert.deepEqual(call.params, {
        payment_intent: intentId,
        amount: '600',
        metadata: { accountId: 'acct-1', purchaseId: 'pur-1' },
      });
      const charge = double.chargeOf(intentId);
      assert.equal(refund.amount, 600);
      assert.equal(refund.status, 'succeeded');
      assert.equal(refund.payment_intent, intentId);
      assert.equal(refund.charge, charge.id);
      assert.deepEqual(refund.metadata, { accountId: 'acct-1', purchaseId: 'pur-1' });
      assert.deepEqual(charge, { id: charge.id, amount: 1500, amount_refunded: 600 });

      // Stripe's charge.refunded that follows reads as a partial refund of the purchase's payment.
      const event = double.chargeRefundedEvent(intentId);
      assert.deepEqual(await gateway.verifyWebhook(event.body, event.signature), {
        id: JSON.parse(event.body).id,
        type: 'charge.refunded',
        paymentIntentId: intentId,
        amountRefundedMinor: 600,
        amountMinor: 1500,
      });
    },
  );

  it('returns the first refund to a repeat, and Stripe makes one', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const intentId = await paid(gateway);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await gateway.refund(refundOf(intentId)));
    const refunds = double.refunds();
    assert.equal(refunds.length, 1);
    for (const result of results) assert.deepEqual(result, { reference: refunds[0].id });
    assert.deepEqual(
      refundCalls(double).map((r) => [r.idempotencyKey, r.replayed ?? false]),
      [
        ['refund-pur-1', false],
        ['refund-pur-1', true],
        ['refund-pur-1', true],
      ],
    );
    assert.equal(double.chargeOf(intentId).amount_refunded, 600);
  });

  it(
    'refuses more than remains refundable as refund_failed, with Stripe’s message',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t);
      const intentId = await paid(gateway);
      const purchase = (id: string, amountMinor: number) =>
        refundOf(intentId, { idempotencyKey: refundKeyOf(id), purchaseId: id, amountMinor });
      await assert.rejects(
        gateway.refund(purchase('p-a', 1501)),
        domainError(
          'refund_failed',
          /^Stripe refused the refund: Refund amount \(\$15\.01\) is greater than charge amount \(\$15\.00\)/,
        ),
      );
      assert.equal(double.refunds().length, 0);

      await gateway.refund(purchase('p-b', 1000));
      await assert.rejects(
        gateway.refund(purchase('p-c', 600)),
        domainError('refund_failed', /greater than unrefunded amount on charge \(\$5\.00\)/),
      );
      await gateway.refund(purchase('p-d', 500));
      await assert.rejects(
        gateway.refund(purchase('p-e', 1)),
        domainError('refund_failed', /Charge ch_\w+ has already been refunded/),
      );
      assert.deepEqual(
        double.refunds().map((r) => r.amount),
        [1000, 500],
      );
      assert.equal(double.chargeOf(intentId).amount_refunded, 1500);
      assert.deepEqual(
        refundCalls(double).map((r) => r.status),
        [400, 200, 400, 200, 400],
      );
    },
  );

  it('refuses a refund of no payment or of one not paid', slow, async (t) => {
    const { double, gateway } = await setup(t);
    await assert.rejects(
      gateway.refund(refundOf('pi_unknown')),
      domainError('refund_failed', /No such payment_intent: 'pi_unknown'/),
    );
    const waiting = await gateway.charge(request({ customerId: 'cus_3ds' }));
    assert.equal(waiting.status, 'requires_action');
    await assert.rejects(
      gateway.refund(
        refundOf(waiting.status === 'requires_action' ? waiting.reference : '', {
          idempotencyKey: refundKeyOf('p-3ds'),
        }),
      ),
      domainError('refund_failed', /does not have a successful charge/),
    );
    assert.equal(double.refunds().length, 0);
    await assert.rejects(gateway.refund(refundOf('pi_x', { amountMinor: 0 })), RangeError);
    assert.equal(refundCalls(double).length, 2, 'an amount of 0 never reaches Stripe');
  });

  it(
    'is unavailable when the answer is lost, and a retry finds the same refund',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t, { maxNetworkRetries: 0 });
      const intentId = await paid(gateway);
      // The SDK retries a closed connection once even with no retries: two drops in a row.
      double.failNextResponses(2, isRefund);
      await assert.rejects(
        gateway.refund(refundOf(intentId)),
        domainError('payment_unavailable', /retry with the same key finds any refund/),
      );
      const [refund] = double.refunds();
      assert.equal(double.refunds().length, 1, 'Stripe refunded before the connection broke');
      assert.deepEqual(
        refundCalls(double).map((r) => [r.idempotencyKey, r.dropped, r.replayed ?? false]),
        [
          ['refund-pur-1', true, false],
          ['refund-pur-1', true, true],
        ],
      );
      assert.deepEqual(await gateway.refund(refundOf(intentId)), { reference: refund.id });
      assert.equal(double.refunds().length, 1);
      assert.equal(double.chargeOf(intentId).amount_refunded, 600);
    },
  );

  it('gets past one lost answer on its own', slow, async (t) => {
    const { double, gateway } = await setup(t, { maxNetworkRetries: 0 });
    const intentId = await paid(gateway);
    double.failNextResponses(1, isRefund);
    const result = await gateway.refund(refundOf(intentId));
    assert.deepEqual(
      double.refunds().map((r) => r.id),
      [result.reference],
    );
    assert.deepEqual(
      refundCalls(double).map((r) => [r.dropped ?? false, r.replayed ?? false]),
      [
        [true, false],
        [false, true],
      ],
    );
  });

  it(
    'is unavailable when Stripe fails or limits the rate, and refunds nothing',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t, { maxNetworkRetries: 0 });
      const intentId = await paid(gateway);
      double.rejectNextRequests(
        1,
        500,
        { type: 'api_error', message: 'Something went wrong.' },
        isRefund,
      );
      await assert.rejects(
        gateway.refund(refundOf(intentId)),
        domainError('payment_unavailable', /Something went wrong/),
      );
      double.rejectNextRequests(
        1,
        429,
        { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests.' },
        isRefund,
      );
      await assert.rejects(gateway.refund(refundOf(intentId)), domainError('payment_unavailable'));
      assert.equal(double.refunds().length, 0);
      assert.equal((await gateway.refund(refundOf(intentId))).reference, double.refunds()[0].id);
    },
  );

  it('refuses a key used before with another amount as refund_failed', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const intentId = await paid(gateway);
    const first = await gateway.refund(refundOf(intentId));
    await assert.rejects(
      gateway.refund(refundOf(intentId, { amountMinor: 700 })),
      domainError('refund_failed', /other parameters.*made no new refund/),
    );
    assert.deepEqual(
      double.refunds().map((r) => [r.id, r.amount]),
      [[first.reference, 600]],
    );
    assert.equal(refundCalls(double)[1].status, 400);
    assert.equal(double.chargeOf(intentId).amount_refunded, 600);
  });

  it('counts a pending refund as made, and a repeat looks at it again', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const intentId = await paid(gateway, { customerId: 'cus_pending_refund' });
    const result = await gateway.refund(refundOf(intentId));
    const [refund] = double.refunds();
    assert.deepEqual(result, { reference: refund.id });
    assert.equal(refund.status, 'pending');

    // Still pending: the replay is followed by one look at the refund, which stands.
    assert.deepEqual(await gateway.refund(refundOf(intentId)), result);
    const retrievals = () =>
      double.requests.filter((r) => r.method === 'GET' && r.path === `/v1/refunds/${refund.id}`);
    assert.equal(retrievals().length, 1);

    double.settleRefund(refund.id, 'failed');
    await assert.rejects(
      gateway.refund(refundOf(intentId)),
      domainError('refund_failed', new RegExp(`${refund.id}: it is failed \\(declined\\)`)),
    );
    assert.equal(retrievals().length, 2);
    assert.equal(double.chargeOf(intentId).amount_refunded, 0);
    assert.equal(double.refunds().length, 1);
  });

  it(
    'reports a canceled refund as refund_failed; a succeeded one needs no second look',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t);
      const canceledIntent = await paid(gateway, {
        customerId: 'cus_pending_refund',
        idempotencyKey: 'k-canceled',
      });
      await gateway.refund(refundOf(canceledIntent, { idempotencyKey: 'r-canceled' }));
      double.settleRefund(double.refunds()[0].id, 'canceled');
      await assert.rejects(
        gateway.refund(refundOf(canceledIntent, { idempotencyKey: 'r-canceled' })),
        domainError('refund_failed', /it is canceled\.$/),
      );

      const intentId = await paid(gateway);
      await gateway.refund(refundOf(intentId));
      await gateway.refund(refundOf(intentId));
      assert.equal(refundCalls(double).filter((r) => r.replayed).length, 2);
      assert.equal(
        double.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/refunds/'))
          .length,
        1,
        'only the canceled one was looked at again',
      );
    },
  );

  it('passes on errors it cannot interpret, such as a wrong secret key', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const intentId = await paid(gateway);
    const wrong = new StripeGateway({
      secretKey: 'sk_test_wrong_key_1234',
      webhookSecret: double.webhookSecret,
      apiBase: double.url,
    });
    await assert.rejects(wrong.refund(refundOf(intentId)), (error: unknown) => {
      assert.ok(!(error instanceof DomainError));
      assert.equal((error as Error & { type?: string }).type, 'StripeAuthenticationError');
      return true;
    });
    assert.equal(refundCalls(double)[0].status, 401);
    assert.equal(double.refunds().length, 0);
  });
});

describe('the Stripe double', () => {
  it(
    'refuses a confirmation that may redirect without a return_url, and stores no answer for it',
    slow,
    async (t) => {
      const { double } = await setup(t);
      const base =
        'amount=1500&currency=usd&customer=cus_visa&payment_method=pm_card_visa&confirm=true' +
        '&automatic_payment_methods[enabled]=true';
      const refused = await raw(double, '/v1/payment_intents', base, {
        'Idempotency-Key': 'k-raw',
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error?.type, 'invalid_request_error');
      assert.match(refused.body.error?.message ?? '', /return_url/);
      assert.ok(refused.headers.get('request-id')?.startsWith('req_'));
      assert.equal(double.paymentIntents().length, 0);

      // Validation failed, so nothing was stored under the key: the corrected request runs.
      const fixed = `${base}&automatic_payment_methods[allow_redirects]=never`;
      const accepted = await raw(double, '/v1/payment_intents', fixed, {
        'Idempotency-Key': 'k-raw',
      });
      assert.equal(accepted.status, 200);
      assert.equal((accepted.body as { status?: string }).status, 'succeeded');
      const replay = await raw(double, '/v1/payment_intents', fixed, {
        'Idempotency-Key': 'k-raw',
      });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, accepted.body);
      const other = await raw(double, '/v1/payment_intents', `${fixed}&description=x`, {
        'Idempotency-Key': 'k-raw',
      });
      assert.equal(other.status, 400);
      assert.equal(other.body.error?.type, 'idempotency_error');
    },
  );

  it(
    'declines an off-session payment that needs authentication, and refuses a wrong key',
    slow,
    async (t) => {
      const { double } = await setup(t);
      const offSession = await raw(
        double,
        '/v1/payment_intents',
        'amount=1500&currency=usd&customer=cus_3ds&payment_method=pm_card_authenticationRequired' +
          '&confirm=true&off_session=true&automatic_payment_methods[enabled]=true' +
          '&automatic_payment_methods[allow_redirects]=never',
      );
      assert.equal(offSession.status, 402);
      assert.equal(offSession.body.error?.type, 'card_error');
      assert.equal(offSession.body.error?.code, 'authentication_required');
      const unauthorized = await raw(double, '/v1/payment_intents', 'amount=1', {
        Authorization: 'Bearer sk_test_other',
      });
      assert.equal(unauthorized.status, 401);
    },
  );
  it(
    'refunds as Stripe does: what remains by default, refusals stored under the key',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t);
      const intentId = await paid(gateway);
      const unknown = await raw(
        double,
        '/v1/refunds',
        `payment_intent=${intentId}&amount=100&refund_reason=x`,
        {
          'Idempotency-Key': 'r-raw',
        },
      );
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error?.code, 'parameter_unknown');
      // Validation failed, so the key is still free; with no amount all that remains is refunded.
      const all = await raw(double, '/v1/refunds', `payment_intent=${intentId}`, {
        'Idempotency-Key': 'r-raw',
      });
      assert.equal(all.status, 200);
      assert.equal((all.body as { amount?: number }).amount, 1500);
      assert.equal((all.body as { object?: string }).object, 'refund');
      const again = await raw(double, '/v1/refunds', `payment_intent=${intentId}`, {
        'Idempotency-Key': 'r-raw-2',
      });
      assert.equal(again.status, 400);
      assert.equal(again.body.error?.type, 'invalid_request_error');
      assert.equal(again.body.error?.code, 'charge_already_refunded');
      const replay = await raw(double, '/v1/refunds', `payment_intent=${intentId}`, {
        'Idempotency-Key': 'r-raw-2',
      });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, again.body);
      const otherEndpoint = await raw(double, '/v1/payment_intents', 'amount=1&currency=usd', {
        'Idempotency-Key': 'r-raw',
      });
      assert.equal(otherEndpoint.body.error?.type, 'idempotency_error');
      assert.equal(double.refunds().length, 1);

      // A Dashboard refund (refundedEvent) counts too.
      const second = await paid(gateway, { idempotencyKey: 'k-second' });
      double.refundedEvent(second, 400);
      assert.deepEqual(double.chargeOf(second).amount_refunded, 400);
      assert.deepEqual(
        double.refunds().map((r) => [r.payment_intent, r.amount]),
        [
          [intentId, 1500],
          [second, 400],
        ],
      );
    },
  );
});

describe('StripeGateway.findCharge', () => {
  it('finds the charge of a key and attempt, or none', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const approved = await gateway.charge(request());
    assert.deepEqual(await gateway.findCharge(lookup()), approved);
    assert.equal(await gateway.findCharge(lookup({ idempotencyKey: 'f'.repeat(64) })), null);
    assert.equal(await gateway.findCharge(lookup({ attempt: '2' })), null, 'another attempt');
    assert.equal(
      await gateway.findCharge(lookup({ sinceMs: Date.now() + 3_600_000 })),
      null,
      'made before the intent was recorded: not this one',
    );
    const before = double.requests.length;
    assert.equal(await gateway.findCharge(lookup({ customerId: null })), null);
    assert.equal(double.requests.length, before, 'no customer, no call');
  });

  it('tells the attempts of one purchase apart', slow, async (t) => {
    const { gateway } = await setup(t);
    const customerId = 'cus_3ds';
    const waiting = await gateway.charge(request({ customerId, attempt: '1' }));
    const declined = await gateway.charge(request({ customerId: 'cus_declined', attempt: '2' }));
    assert.equal(declined.status, 'declined');
    assert.deepEqual(await gateway.findCharge(lookup({ customerId, attempt: '1' })), waiting);
    assert.deepEqual(
      await gateway.findCharge(lookup({ customerId: 'cus_declined', attempt: '2' })),
      declined,
    );
    assert.equal(await gateway.findCharge(lookup({ customerId, attempt: '' })), null);
  });

  it('refuses a charge made for another account, amount or currency', slow, async (t) => {
    const { gateway } = await setup(t);
    await gateway.charge(request());
    const cases: [Partial<ChargeLookup>, string[]][] = [
      [{ amountMinor: 5000 }, ['amountMinor']],
      [{ accountId: 'acct-2' }, ['accountId']],
      [{ currency: 'EUR', amountMinor: 1 }, ['amountMinor', 'currency']],
    ];
    for (const [over, differs] of cases) {
      await assert.rejects(gateway.findCharge(lookup(over)), (error: unknown) => {
        assert.ok(error instanceof ChargeConflictError);
        assert.equal(error.code, 'charge_conflict');
        assert.deepEqual(error.differs, differs);
        return true;
      });
    }
    assert.ok(await gateway.findCharge(lookup({ currency: 'usd' })), 'currency in any case');
  });

  it('pages through the customer’s PaymentIntents', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const first = await gateway.charge(request());
    for (let batch = 0; batch < 7; batch++) {
      await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          gateway.charge(request({ idempotencyKey: `other-${batch}-${i}` })),
        ),
      );
    }
    assert.equal(double.paymentIntents().length, 106);
    assert.deepEqual(await gateway.findCharge(lookup()), first);
    const lists = double.requests.filter(
      (r) => r.method === 'GET' && r.path === '/v1/payment_intents',
    );
    assert.equal(lists.length, 2);
    assert.equal(lists[0].params.limit, '100');
    assert.equal(lists[0].params.customer, 'cus_visa');
    assert.equal(typeof lists[1].params.starting_after, 'string');
  });
});

describe('StripeGateway.verifyWebhook', () => {
  it(
    'reads payment_intent.succeeded and payment_intent.payment_failed of our charges',
    slow,
    async (t) => {
      const { double, gateway } = await setup(t);
      const paid = await gateway.charge(request({ attempt: '3' }));
      assert.equal(paid.status, 'approved');
      const succeeded = double.succeededEvent(paid.status === 'approved' ? paid.reference : '');
      const event = await gateway.verifyWebhook(succeeded.body, succeeded.signature);
      assert.deepEqual(event, {
        id: JSON.parse(succeeded.body).id,
        type: 'payment_intent.succeeded',
        paymentIntentId: paid.status === 'approved' ? paid.reference : '',
        accountId: 'acct-1',
        purchaseKey: 'purchase-1',
        chargeKey,
        attempt: '3',
      });

      await gateway.charge(request({ customerId: 'cus_3ds', idempotencyKey: 'k-3ds' }));
      const waiting = double.paymentIntents()[1];
      double.authenticate(waiting.id, false);
      const failed = double.failedEvent(waiting.id);
      const failure = await gateway.verifyWebhook(failed.body, failed.signature);
      assert.equal(failure.type, 'payment_intent.payment_failed');
      assert.equal(failure.type === 'payment_intent.payment_failed' && failure.attempt, '');
      assert.match(
        failure.type === 'payment_intent.payment_failed' ? failure.reason : '',
        /failed authentication/,
      );
    },
  );

  it('refuses a tampered body, a missing signature and another secret', slow, async (t) => {
    const { double, gateway } = await setup(t);
    await gateway.charge(request());
    const { body, signature } = double.succeededEvent(double.paymentIntents()[0].id);
    await assert.rejects(
      gateway.verifyWebhook(body.replace('"amount": 1500', '"amount": 1'), signature),
      domainError('invalid_signature'),
    );
    await assert.rejects(gateway.verifyWebhook(body, undefined), domainError('invalid_signature'));
    await assert.rejects(gateway.verifyWebhook(body, ''), domainError('invalid_signature'));
    const other = new StripeGateway({
      secretKey: double.secretKey,
      webhookSecret: 'whsec_other',
      apiBase: double.url,
    });
    await assert.rejects(other.verifyWebhook(body, signature), domainError('invalid_signature'));
  });

  it('ignores events that are not about our charges', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const foreign = double.webhook('payment_intent.succeeded', {
      id: 'pi_foreign',
      object: 'payment_intent',
      status: 'succeeded',
      metadata: { order: '42' },
    });
    assert.deepEqual(await gateway.verifyWebhook(foreign.body, foreign.signature), {
      id: JSON.parse(foreign.body).id,
      type: 'ignored',
      stripeType: 'payment_intent.succeeded',
    });
    const customer = double.webhook('customer.created', { id: 'cus_new', object: 'customer' });
    const ignored = await gateway.verifyWebhook(customer.body, customer.signature);
    assert.deepEqual(ignored.type === 'ignored' && ignored.stripeType, 'customer.created');
  });

  it('reads charge.refunded: the PaymentIntent and everything refunded so far', slow, async (t) => {
    const { double, gateway } = await setup(t);
    const paid = await gateway.charge(request());
    const intentId = paid.status === 'approved' ? paid.reference : '';
    const partial = double.refundedEvent(intentId, 500);
    assert.deepEqual(await gateway.verifyWebhook(partial.body, partial.signature), {
      id: JSON.parse(partial.body).id,
      type: 'charge.refunded',
      paymentIntentId: intentId,
      amountRefundedMinor: 500,
      amountMinor: 1500,
    });
    const rest = double.refundedEvent(intentId);
    const event = await gateway.verifyWebhook(rest.body, rest.signature);
    assert.equal(event.type === 'charge.refunded' && event.amountRefundedMinor, 1500);
    assert.equal(JSON.parse(rest.body).data.object.refunded, true);
  });
});
