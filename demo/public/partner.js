// A partner's portal: the same widget, rebranded with CSS custom properties,
// German strings and euro prices (the partner's API has a EUR catalog).
const widget = document.querySelector('#topup');

// `?account=demo-fresh` (or any demo account) shows another state; the
// partner's own API holds the same accounts.
const accountId = new URLSearchParams(location.search).get('account') || 'demo-on-extra';
widget.fetchToken = async () => {
  const res = await fetch('/demo/api/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId, tenant: 'partner' }),
  });
  return (await res.json()).token;
};

widget.strings = {
  cardTitle: 'Zusatzminuten',
  buyMore: 'Minuten nachkaufen',
  viewPackages: 'Pakete ansehen',
  planMinutes: 'Tarifminuten',
  planUsed: (used, allowance) => `${used} von ${allowance} Min. verbraucht`,
  resetsIn: (days) => (days === 1 ? 'Neu ab morgen' : `Neu in ${days} Tagen`),
  extraBalance: 'Zusatzguthaben',
  minutes: (m) => `${m} Min.`,
  activePackages: (n) => (n === 1 ? '1 aktives Paket' : `${n} aktive Pakete`),
  overage: (m) => `Mehrverbrauch in diesem Zeitraum: ${m} Min.`,
  upgradeAdvice: (a) =>
    `Sie haben in ${a.cycles} der letzten ${a.of} Monate nachgekauft: Tarif und Zusatzminuten kosteten Sie im Schnitt ${a.cost} pro Monat. ` +
    `${a.plan} kostet ${a.price} im Monat und spart Ihnen ${a.saving}.`,
  upgradeLink: (plan) => `Zu ${plan} wechseln`,
  bannerLow: 'Ihre Minuten werden knapp.',
  bannerExhausted: 'Ihre Tarifminuten sind aufgebraucht; Anrufe nutzen jetzt Ihre Zusatzminuten.',
  bannerEmpty: 'Keine Minuten mehr. Weitere Anrufe werden als Mehrverbrauch berechnet.',
  // Said politely when a call or a purchase elsewhere changes the warning level.
  warningChanged: (level) =>
    ({
      none: 'Sie haben wieder genug Minuten.',
      low: 'Ihre Minuten werden jetzt knapp.',
      exhausted: 'Ihre Tarifminuten sind aufgebraucht; Anrufe nutzen jetzt Ihre Zusatzminuten.',
      empty: 'Keine Minuten mehr. Weitere Anrufe werden als Mehrverbrauch berechnet.',
    })[level] ?? '',
  dialogTitle: 'Minuten nachkaufen',
  packagesLabel: 'Pakete',
  perMinute: (p) => `${p} pro Minute`,
  popular: 'Beliebt',
  bestValue: 'Bester Preis',
  saving: (p) => `${p} günstiger`,
  tip: 'Tipp: Wenn Ihnen regelmäßig Minuten fehlen, ist das große Paket am günstigsten; für einen einzelnen Monat bindet das kleine am wenigsten.',
  confirm: (m, p) => `${m} Minuten für ${p} kaufen`,
  pending: 'Zahlung läuft …',
  cancel: 'Abbrechen',
  retry: 'Erneut versuchen',
  close: 'Schließen',
  purchased: (m, extra) => `${m} Minuten hinzugefügt. Zusatzguthaben: ${extra} Minuten.`,
  historyTitle: 'Ihre Pakete',
  colPackage: 'Paket',
  colDate: 'Gekauft',
  colPrice: 'Preis',
  colMinutes: 'Minuten',
  colRemaining: 'Verbleibend',
  colStatus: 'Status',
  active: 'Aktiv',
  used: 'Verbraucht',
  totalRemaining: (m) => `Insgesamt verbleibend: ${m} Min.`,
  noPackages: 'Noch keine Pakete gekauft.',
  loading: 'Wird geladen …',
  errorNetwork: 'Der Dienst ist nicht erreichbar. Bitte prüfen Sie Ihre Verbindung.',
  errorServer: 'Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es erneut.',
  errorUnauthorized: 'Ihre Sitzung ist abgelaufen. Bitte laden Sie die Seite neu.',
  errorAccount: 'Dieses Konto wurde nicht gefunden.',
  errorDeclined: 'Ihre Zahlung wurde abgelehnt. Es wurde nichts berechnet.',
  errorOther: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.',
  errorNoToken: 'Die Anmeldung beim Minutendienst ist fehlgeschlagen.',
  unconfirmed:
    'Wir konnten diesen Kauf nicht bestätigen. Versuchen Sie es erneut, um ihn abzuschließen: Es wird nichts doppelt berechnet.',
};

// Set last: the widget starts loading once it knows its account.
widget.accountId = accountId;
