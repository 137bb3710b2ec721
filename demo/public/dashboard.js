// The host page of the demo: it holds none of the widget's logic. It asks its
// own backend for widget tokens, and (standing in for the voice platform)
// asks it to record a call; the widget does everything else (it follows the
// balance live, so a call shows without a reload).
const widget = document.querySelector('#topup');
const select = document.querySelector('#account');
const story = document.querySelector('#story');
const result = document.querySelector('#call-result');

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error?.message ?? res.statusText);
  return json;
}

// Called by the widget when it needs a token, and again when one expires.
widget.fetchToken = async () =>
  (await post('/demo/api/session', { accountId: select.value })).token;

const { accounts } = await (await fetch('/demo/api/accounts')).json();
for (const a of accounts) select.add(new Option(a.label, a.id));
const fromUrl = new URLSearchParams(location.search).get('account');
select.value = accounts.some((a) => a.id === fromUrl) ? fromUrl : 'demo-running-low';

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

function show() {
  const account = accounts.find((a) => a.id === select.value);
  story.textContent = account.story;
  widget.setAttribute('account-id', account.id);
  result.textContent = '';
  const url = new URL(location.href);
  url.searchParams.set('account', account.id);
  history.replaceState(null, '', url);
}
select.addEventListener('change', () => {
  show();
  refreshStory();
});
show();
widget.addEventListener('minute-topup-purchase', refreshStory);

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
  } catch (error) {
    result.textContent = `The call could not be recorded: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

widget.addEventListener('minute-topup-upgrade', (event) => {
  event.preventDefault();
  alert(
    `This is where ${event.detail.recommendation?.nextPlan?.name ?? 'the next plan'} would be ordered.`,
  );
});

const placeholder = document.querySelector('#placeholder');
for (const link of document.querySelectorAll('[data-placeholder]')) {
  link.addEventListener('click', () => (placeholder.hidden = false));
}
