// The host page of the demo: it holds none of the widget's logic. It asks its
// own backend for widget tokens — for the role signed in: a viewer's token
// only reads — and (standing in for the voice platform and for a support
// console) asks it to record a call, grant minutes or refund a package; the
// widget does everything else (it follows the balance live, so each change
// shows without a reload). Below, it lists the webhooks its backend received.
import { post } from './backend.js';
import { operatorPanel } from './operator.js';
import { webhooksPanel } from './webhooks.js';

let widget = document.querySelector('#topup');
const select = document.querySelector('#account');
const role = document.querySelector('#role');
const story = document.querySelector('#story');
const result = document.querySelector('#call-result');

// Called by the widget when it needs a token, and again when one expires.
const fetchToken = async () =>
  (await post('/demo/api/session', { accountId: select.value, role: role.value })).token;
widget.fetchToken = fetchToken;

const { accounts } = await (await fetch('/demo/api/accounts')).json();
for (const a of accounts) select.add(new Option(a.label, a.id));
const params = new URLSearchParams(location.search);
const fromUrl = params.get('account');
select.value = accounts.some((a) => a.id === fromUrl) ? fromUrl : 'demo-running-low';
role.value = params.get('role') === 'viewer' ? 'viewer' : 'owner';

// The description comes from the account's live balance (the demo's backend
// writes it), so it follows calls and purchases.
function tell(accountId, text) {
  accounts.find((a) => a.id === accountId).story = text;
  if (accountId === select.value) story.textContent = text;
}
async function refreshStory() {
  const id = select.value;
  const res = await fetch(`/demo/api/accounts/${encodeURIComponent(id)}`);
  if (res.ok) tell(id, (await res.json()).story);
}

const operator = operatorPanel({ accountId: () => select.value, changed: tell });

// The operator tools are your support team's, not the customer's: a viewer
// signed in (read-only) does not see them.
const operatorTools = document.querySelector('section[aria-labelledby="operator-title"]');

function remember() {
  operatorTools.hidden = role.value === 'viewer';
  const url = new URL(location.href);
  url.searchParams.set('account', select.value);
  if (role.value === 'viewer') url.searchParams.set('role', 'viewer');
  else url.searchParams.delete('role');
  history.replaceState(null, '', url);
}

function show() {
  const account = accounts.find((a) => a.id === select.value);
  story.textContent = account.story;
  widget.setAttribute('account-id', account.id);
  result.textContent = '';
  remember();
  operator.show();
}
select.addEventListener('change', () => {
  show();
  refreshStory();
});
show();

// Another role signed in: a new session, so a new widget, whose first token
// has the new role's scope (a viewer's widget offers nothing to buy).
role.addEventListener('change', () => {
  const fresh = document.createElement('minute-topup');
  for (const { name, value } of widget.attributes) fresh.setAttribute(name, value);
  fresh.fetchToken = fetchToken;
  widget.replaceWith(fresh);
  widget = fresh;
  remember();
});

// The widget's events bubble out of it: listened for on the page, they
// outlive a widget replaced for another role.
document.addEventListener('minute-topup-purchase', () => {
  refreshStory();
  operator.refresh();
});

// A webhook about the account on show (an auto top-up bought or paused, say):
// its description and the operator's list follow. The widget follows by itself.
webhooksPanel({
  received: (webhooks) => {
    if (!webhooks.some((w) => w.accountId === select.value)) return;
    refreshStory().catch(() => undefined);
    operator.refresh();
  },
});

document.querySelector('#simulate').addEventListener('submit', async (event) => {
  event.preventDefault();
  const seconds = Number(new FormData(event.target).get('seconds'));
  const button = event.target.querySelector('button');
  const accountId = select.value;
  button.disabled = true;
  try {
    const call = await post('/demo/api/calls', { accountId, seconds });
    result.textContent = call.message;
    tell(accountId, call.story);
    // The call drew on packages: the operator's list shows what is left.
    operator.refresh();
  } catch (error) {
    result.textContent = `The call could not be recorded: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

document.addEventListener('minute-topup-upgrade', (event) => {
  event.preventDefault();
  alert(
    `This is where ${event.detail.recommendation?.nextPlan?.name ?? 'the next plan'} would be ordered.`,
  );
});

const placeholder = document.querySelector('#placeholder');
for (const link of document.querySelectorAll('[data-placeholder]')) {
  link.addEventListener('click', () => (placeholder.hidden = false));
}
