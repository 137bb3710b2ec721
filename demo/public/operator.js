// The operator panel of the billing page: grants and refunds, as a support
// console would make them. It asks the demo's backend (which holds the secret
// key); the backend writes every sentence and figure, this only places them.
// The widget shows the change through its live balance, like any other.
import { BackendError, newKey, post, send } from './backend.js';

/**
 * One idempotency key per submission: sending the same form again — after a
 * lost answer, or a click while one is on its way — reuses the key, so the
 * backend grants or refunds once. Once a submission succeeded, or when the
 * form says something else, the next one gets a new key.
 */
function submissions() {
  let last;
  return {
    keyFor(what) {
      if (last?.what !== what) last = { what, key: newKey() };
      return last.key;
    },
    succeeded() {
      last = undefined;
    },
  };
}

/**
 * Wires the panel to the account `accountId()` names.
 *
 * @param {{accountId: () => string, changed: (accountId: string, story: string) => void}} host
 *   `changed` is told the account's new description after each grant or refund.
 */
export function operatorPanel({ accountId, changed }) {
  const grantForm = document.querySelector('#grant');
  const refundForm = document.querySelector('#refund');
  const picker = refundForm.elements.purchaseId;
  const rows = document.querySelector('#purchases tbody');
  const result = document.querySelector('#operator-result');
  const problem = document.querySelector('#operator-error');
  const csv = document.querySelector('#ledger-csv');

  function say(text) {
    problem.textContent = '';
    result.textContent = text;
  }
  function warn(text) {
    result.textContent = '';
    problem.textContent = text;
  }

  function row(purchase) {
    const tr = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = purchase.name;
    tr.append(name);
    for (const text of [purchase.date, purchase.price, purchase.left, purchase.status]) {
      tr.insertCell().textContent = text;
    }
    return tr;
  }
  function emptyRow() {
    const tr = document.createElement('tr');
    const td = tr.insertCell();
    td.colSpan = 5;
    td.textContent = 'Nothing bought or granted yet.';
    return tr;
  }

  /** Lists the account's purchases and grants, and the packages that may be refunded. */
  async function refresh() {
    const id = accountId();
    const { purchases } = await send(`/demo/api/accounts/${encodeURIComponent(id)}/purchases`);
    if (id !== accountId()) return;
    rows.replaceChildren(...(purchases.length ? purchases.map(row) : [emptyRow()]));
    const chosen = picker.value;
    const refundable = purchases.filter((p) => p.refundable);
    picker.replaceChildren(...refundable.map((p) => new Option(p.label, p.id)));
    if (refundable.some((p) => p.id === chosen)) picker.value = chosen;
    if (!refundable.length) picker.add(new Option('No active package to refund', ''));
    picker.disabled = !refundable.length;
  }

  /**
   * Submits `form` once at a time: a click while a submission is on its way
   * does nothing (the button stays focusable: `aria-disabled`, not
   * `disabled`, which would drop a keyboard user's focus).
   */
  function handle(form, action) {
    const button = form.querySelector('button');
    const keys = submissions();
    let busy = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      button.setAttribute('aria-disabled', 'true');
      const id = accountId();
      try {
        const answer = await action(id, new FormData(form), keys);
        keys.succeeded();
        say(answer.message);
        changed(id, answer.story);
        if (form === grantForm) form.reset();
      } catch (error) {
        warn(
          error.answered
            ? `Not done: ${error.message}`
            : `${error.message} It may have gone through: submit it again to be sure; it will not happen twice.`,
        );
      } finally {
        busy = false;
        button.removeAttribute('aria-disabled');
        // The list follows what happened, and whatever else changed meanwhile.
        await refresh().catch(() => undefined);
      }
    });
  }

  handle(grantForm, (id, data, keys) => {
    const body = {
      accountId: id,
      minutes: Number(data.get('minutes')),
      reason: String(data.get('reason')).trim(),
    };
    const key = keys.keyFor(JSON.stringify(body));
    return post('/demo/api/grants', body, { 'idempotency-key': key });
  });

  handle(refundForm, async (id, data, keys) => {
    if (!data.get('purchaseId')) {
      throw new BackendError('this account has no active package to refund.', { answered: true });
    }
    const body = { accountId: id, purchaseId: String(data.get('purchaseId')) };
    const key = keys.keyFor(JSON.stringify(body));
    return post('/demo/api/refunds', body, { 'idempotency-key': key });
  });

  // Back on the page after a while: purchases made elsewhere show.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh().catch(() => undefined);
  });

  return {
    /** Shows the panel for the account now chosen. */
    show() {
      say('');
      csv.href = `/demo/api/accounts/${encodeURIComponent(accountId())}/ledger.csv`;
      return refresh().catch((error) =>
        warn(`The purchases could not be listed: ${error.message}`),
      );
    },
    /** Lists the purchases again (after a purchase or a call on the page). */
    refresh: () => refresh().catch(() => undefined),
  };
}
