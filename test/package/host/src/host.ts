/*
 * A strict TypeScript host, typechecked against the installed package with
 * `moduleResolution: bundler`: the element, its properties and its events are
 * typed (the `@ts-expect-error` lines fail the check if any of them is `any`).
 */
import 'minute-topup';
import { en, MinuteTopup, type BalanceDto, type MinuteTopupStrings } from 'minute-topup';

const widget = document.querySelector('minute-topup');
if (widget) {
  const element: MinuteTopup = widget;
  element.apiBase = 'https://minutes.example.com';
  element.accountId = 'acct_123';
  element.fetchToken = async () => 'a token';
  const strings: Partial<MinuteTopupStrings> = { cardTitle: 'Minutes', confirm: en.confirm };
  element.strings = strings;
  element.addEventListener('minute-topup-purchase', (e) => {
    const id: string = e.detail.purchase.id;
    const balance: BalanceDto = e.detail.balance;
    console.log(id, balance.extra.remainingSeconds);
  });
  element.addEventListener('minute-topup-error', (e) =>
    console.log(e.detail.code, e.detail.message),
  );
  element.addEventListener('minute-topup-upgrade', (e) => {
    if (e.detail.recommendation.recommend) e.preventDefault();
  });
  void element.reload();

  // @ts-expect-error: the purchase detail is typed, and has no such field
  element.addEventListener('minute-topup-purchase', (e) => e.detail.purchase.nothing);
  // @ts-expect-error: fetchToken returns a promise of a token
  element.fetchToken = () => 'not a promise';
  // @ts-expect-error: no such property
  element.apiBse = '/api';
}

const created = document.createElement('minute-topup');
created.locale = 'de-DE';
const card: HTMLElementTagNameMap['minute-topup-card'] =
  document.createElement('minute-topup-card');
created.append(card, document.createElement('minute-topup-banner'));
