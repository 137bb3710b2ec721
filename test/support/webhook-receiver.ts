import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { WebhookEvent } from '../../contract/index.js';

/** A signing secret in the Standard Webhooks form. */
export const WEBHOOK_SECRET = `whsec_${Buffer.from('minute-topup test secret!').toString('base64')}`;

export interface Received {
  id: string;
  event: WebhookEvent;
  headers: IncomingHttpHeaders;
  /** The answer it got. */
  status: number | 'timeout';
}

/**
 * A host's webhook endpoint on 127.0.0.1 that checks every signature with
 * the `standardwebhooks` library and answers as `respond` says (default 204):
 * a status, or `hang` (no answer: the sender times out). Keeps what arrived,
 * and the most webhooks of one account it held at once.
 */
export async function webhookReceiver(
  respond: (id: string, event: WebhookEvent, attempt: number) => number | 'hang' = () => 204,
  secret = WEBHOOK_SECRET,
) {
  const verifier = new Webhook(secret);
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  const open = new Map<string, number>();
  const waiters: (() => void)[] = [];
  let maxOpenPerAccount = 0;
  const forged: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: WebhookEvent;
      try {
        event = verifier.verify(body, {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        }) as WebhookEvent;
      } catch (error) {
        forged.push(`${String(req.headers['webhook-id'])}: ${(error as Error).message}`);
        res.writeHead(400).end();
        return;
      }
      const id = String(req.headers['webhook-id']);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const account = event.data.accountId;
      open.set(account, (open.get(account) ?? 0) + 1);
      maxOpenPerAccount = Math.max(maxOpenPerAccount, open.get(account) ?? 0);
      const answer = respond(id, event, attempt);
      const done = (status: number | 'timeout') => {
        open.set(account, (open.get(account) ?? 1) - 1);
        received.push({ id, event, headers: req.headers, status });
        waiters.splice(0).forEach((w) => w());
      };
      if (answer === 'hang') {
        // The sender gives up first; the socket closes then.
        res.on('close', () => done('timeout'));
        return;
      }
      // Counted before the answer leaves, so the sender never sees it first.
      done(answer);
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  after(close);
  return {
    url,
    received,
    forged,
    close,
    get maxOpenPerAccount() {
      return maxOpenPerAccount;
    },
    /** Those answered 2xx, in the order they arrived. */
    delivered: () => received.filter((r) => typeof r.status === 'number' && r.status < 300),
    /** Resolves once `ok()` holds, checked after each webhook (a generous deadline). */
    async until(ok: () => boolean, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!ok()) {
        if (Date.now() > deadline) {
          throw new Error(
            `webhooks: still waiting after ${timeoutMs} ms (${received.length} arrived)`,
          );
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 250).unref();
        });
      }
    },
  };
}
