import { Hono } from 'hono';
import type { Ledger } from '../ledger/ledger.js';
import type { StripeWebhook } from '../payments/stripe.js';

/** What checks a Stripe webhook's signature and reads it (the Stripe gateway). */
export interface StripeWebhookVerifier {
  verifyWebhook(rawBody: string, signature: string | undefined): Promise<StripeWebhook>;
}

/**
 * `POST /v1/webhooks/stripe`: Stripe's word on payments, without bearer auth —
 * the `Stripe-Signature` over the raw body is checked instead (a bad or
 * missing one is a 400 `invalid_signature`, nothing applied). Each event id
 * is applied at most once: `payment_intent.succeeded` credits a purchase that
 * waited, `payment_intent.payment_failed` ends it `failed`, `charge.refunded`
 * refunds the purchase it paid. Other events: 200, ignored.
 */
export function stripeWebhookRoutes(ledger: Ledger, verifier: StripeWebhookVerifier) {
  return new Hono().post('/stripe', async (c) => {
    const event = await verifier.verifyWebhook(
      await c.req.text(),
      c.req.header('stripe-signature'),
    );
    const payments = ledger.payments;
    const about = { eventId: event.id, type: event.type };
    let result: 'applied' | 'duplicate' | 'unknown' | 'ignored';
    if (
      event.type === 'payment_intent.succeeded' ||
      event.type === 'payment_intent.payment_failed'
    ) {
      const payment = {
        ...about,
        accountId: event.accountId,
        purchaseKey: event.purchaseKey,
        attempt: event.attempt,
        paymentRef: event.paymentIntentId,
      };
      result =
        event.type === 'payment_intent.succeeded'
          ? await payments.paymentSucceeded(payment)
          : await payments.paymentFailed(payment);
    } else if (event.type === 'charge.refunded' && event.amountRefundedMinor < event.amountMinor) {
      // A partial refund (a goodwill gesture in Stripe's dashboard, say) leaves
      // the minutes: only a refund of the whole payment voids its purchase.
      result = 'ignored';
    } else if (event.type === 'charge.refunded') {
      result = await payments.paymentRefunded({ ...about, paymentRef: event.paymentIntentId });
    } else {
      result = 'ignored';
    }
    return c.json({ received: true, result });
  });
}
