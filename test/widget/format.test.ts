import { expect } from '@open-wc/testing';
import { createFormat } from '../../widget/format.js';

/** Intl separates some parts with (narrow) no-break spaces: compare them as spaces. */
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('createFormat', () => {
  it('divides minor units by the currency’s own digits', () => {
    expect(createFormat('en-US', 'USD').money(2500)).to.equal('$25.00');
    expect(createFormat('en-US', 'JPY').money(1500)).to.equal('¥1,500');
    expect(plain(createFormat('en-US', 'KWD').money(1500))).to.equal('KWD 1.500');
    expect(plain(createFormat('de-DE', 'EUR').money(2500))).to.equal('25,00 €');
  });

  it('gives a price per minute with up to one digit more than the currency has', () => {
    expect(createFormat('en-US', 'USD').perMinute(1500, 50)).to.equal('$0.30');
    expect(createFormat('en-US', 'USD').perMinute(1393, 40)).to.equal('$0.348');
    expect(createFormat('en-US', 'JPY').perMinute(1000, 3)).to.equal('¥333.3');
  });

  it('counts whole minutes left, rounded down', () => {
    const format = createFormat('en-US', 'USD');
    expect(format.minutes(119)).to.equal('1');
    expect(format.minutes(59)).to.equal('0');
    expect(format.minutes(125 * 60)).to.equal('125');
    expect(format.minutes(100_000 * 60)).to.equal('100,000');
  });

  it('gives a call’s length as m:ss, and day and month for the locale', () => {
    const format = createFormat('en-US', 'USD');
    expect([0, 7, 60, 252, 3600, 60_005].map(format.duration)).to.deep.equal([
      '0:00',
      '0:07',
      '1:00',
      '4:12',
      '60:00',
      '1,000:05',
    ]);
    expect(format.day('2026-11-03T12:00:00Z')).to.equal('Nov 3');
    expect(plain(createFormat('en-GB', 'USD').day('2026-11-03T12:00:00Z'))).to.equal('3 Nov');
    expect(createFormat('de-DE', 'EUR').duration(252)).to.equal('4:12');
  });

  it('formats numbers, percentages and dates for the locale', () => {
    const us = createFormat('en-US', 'USD');
    expect(us.number(1234)).to.equal('1,234');
    expect(us.percent(1 / 6)).to.equal('17%');
    expect(us.percent(1 / 200)).to.equal('1%');
    expect(us.date('2026-03-05T12:00:00Z')).to.equal('Mar 5, 2026');
    const de = createFormat('de-DE', 'EUR');
    expect(de.number(1234)).to.equal('1.234');
    expect(plain(de.percent(1 / 3))).to.equal('33 %');
    expect(de.date('2026-03-05T12:00:00Z')).to.equal('05.03.2026');
  });

  it('uses the browser’s locale when none is given', () => {
    const given = createFormat('', 'USD');
    const browser = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
    expect(given.money(2500)).to.equal(browser.format(25));
  });
});
