/* The widget alone: the test answers its requests from Node (`page.route` + `mocks.fetch`). */
import 'minute-topup';

const widget = document.createElement('minute-topup');
widget.apiBase = '/api';
widget.accountId = 'acme';
widget.token = new URLSearchParams(location.search).get('token') ?? '';
// page.route answers whole bodies: the live stream cannot pass through it.
widget.live = false;
widget.addEventListener('minute-topup-purchase', (e) => {
  document.title = `bought ${e.detail.purchase.packageId}`;
});
document.querySelector('main')!.append(widget);
