import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cycleAt, cycleContaining, cycleStart } from '../../server/domain/cycles.js';

const utc = (y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0) =>
  Date.UTC(y, m - 1, d, h, min, s, ms);
const isoOf = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;
const timeOfDay = (ms: number) => ((ms % DAY) + DAY) % DAY;

/** Days in a month, computed independently of the module under test. */
function daysIn(year: number, month0: number): number {
  const lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month0 === 1 && leap ? 29 : lengths[month0];
}

describe('billing cycles', () => {
  describe('month-end anchors', () => {
    const anchor31 = utc(2026, 1, 31, 10, 30);

    it('clamps an anchor on the 31st to 28 February in 2026 and returns to 31 March', () => {
      assert.deepEqual(
        [0, 1, 2, 3, 4].map((i) => isoOf(cycleStart(anchor31, i))),
        [
          '2026-01-31T10:30:00.000Z',
          '2026-02-28T10:30:00.000Z',
          '2026-03-31T10:30:00.000Z',
          '2026-04-30T10:30:00.000Z',
          '2026-05-31T10:30:00.000Z',
        ],
      );
    });

    it('clamps an anchor on the 31st to 29 February in the leap year 2028', () => {
      const anchor = utc(2028, 1, 31, 8);
      assert.equal(isoOf(cycleStart(anchor, 1)), '2028-02-29T08:00:00.000Z');
      assert.equal(isoOf(cycleStart(anchor, 2)), '2028-03-31T08:00:00.000Z');
      // Counted from a 2026 anchor too: the clamp never drifts over the years.
      assert.equal(isoOf(cycleStart(anchor31, 25)), '2028-02-29T10:30:00.000Z');
      assert.equal(isoOf(cycleStart(anchor31, 26)), '2028-03-31T10:30:00.000Z');
    });

    it('puts 15 February in the cycle that runs from 31 January to 28 February', () => {
      const c = cycleContaining(anchor31, utc(2026, 2, 15));
      assert.deepEqual(c, {
        index: 0,
        start: anchor31,
        end: utc(2026, 2, 28, 10, 30),
      });
    });

    it('moves an anchor on 29 February 2028 to 28 February 2029 and back to the 29th in 2032', () => {
      const anchor = utc(2028, 2, 29, 12);
      assert.equal(isoOf(cycleStart(anchor, 1)), '2028-03-29T12:00:00.000Z');
      assert.equal(isoOf(cycleStart(anchor, 12)), '2029-02-28T12:00:00.000Z');
      assert.equal(isoOf(cycleStart(anchor, 13)), '2029-03-29T12:00:00.000Z');
      assert.equal(isoOf(cycleStart(anchor, 48)), '2032-02-29T12:00:00.000Z');
    });

    it('keeps an anchor on the 30th at the 30th except in February', () => {
      const anchor = utc(2026, 1, 30);
      assert.equal(isoOf(cycleStart(anchor, 1)), '2026-02-28T00:00:00.000Z');
      assert.equal(isoOf(cycleStart(anchor, 2)), '2026-03-30T00:00:00.000Z');
    });

    it('counts cycles before the anchor with negative indexes', () => {
      const c = cycleContaining(anchor31, utc(2026, 1, 15));
      assert.equal(c.index, -1);
      assert.equal(isoOf(c.start), '2025-12-31T10:30:00.000Z');
      assert.equal(c.end, anchor31);
    });

    it('crosses a year boundary', () => {
      const anchor = utc(2025, 11, 30, 23, 59, 59, 999);
      assert.equal(isoOf(cycleStart(anchor, 2)), '2026-01-30T23:59:59.999Z');
      assert.equal(isoOf(cycleStart(anchor, 3)), '2026-02-28T23:59:59.999Z');
    });
  });

  describe('cycle boundaries', () => {
    const anchor = utc(2026, 1, 31, 10, 30);
    const feb28 = utc(2026, 2, 28, 10, 30);

    it('puts an instant exactly at a cycle start in the new cycle', () => {
      const c = cycleContaining(anchor, feb28);
      assert.equal(c.index, 1);
      assert.equal(c.start, feb28);
      assert.equal(c.end, utc(2026, 3, 31, 10, 30));
    });

    it('puts the millisecond before a cycle start in the previous cycle', () => {
      const c = cycleContaining(anchor, feb28 - 1);
      assert.equal(c.index, 0);
      assert.equal(c.end, feb28);
    });

    it('puts the anchor itself in cycle 0', () => {
      assert.deepEqual(cycleContaining(anchor, anchor), cycleAt(anchor, 0));
      assert.equal(cycleContaining(anchor, anchor - 1).index, -1);
    });

    it('keeps the anchor time of day, so a day at 09:00 before a 10:30 anchor is still in the old cycle', () => {
      assert.equal(cycleContaining(anchor, utc(2026, 2, 28, 9)).index, 0);
      assert.equal(cycleContaining(anchor, utc(2026, 2, 28, 11)).index, 1);
    });

    it('cycleAt gives the same cycle as cycleContaining for its start', () => {
      for (const i of [-13, -1, 0, 1, 11, 12, 25]) {
        const c = cycleAt(anchor, i);
        assert.deepEqual(cycleContaining(anchor, c.start), c);
        assert.deepEqual(cycleContaining(anchor, c.end - 1), c);
      }
    });
  });

  describe('properties', () => {
    // 1970 .. 2200, whole milliseconds.
    const instant = fc.integer({ min: 0, max: utc(2200, 1, 1) });

    it('the cycle containing t has start ≤ t < end and its start day is min(anchor day, days in month)', () => {
      fc.assert(
        fc.property(instant, instant, (anchorMs, t) => {
          const c = cycleContaining(anchorMs, t);
          assert.ok(c.start <= t, `start ${isoOf(c.start)} > t ${isoOf(t)}`);
          assert.ok(t < c.end, `t ${isoOf(t)} ≥ end ${isoOf(c.end)}`);
          const a = new Date(anchorMs);
          for (const edge of [c.start, c.end]) {
            const s = new Date(edge);
            assert.equal(
              s.getUTCDate(),
              Math.min(a.getUTCDate(), daysIn(s.getUTCFullYear(), s.getUTCMonth())),
            );
            assert.equal(timeOfDay(edge), timeOfDay(anchorMs), 'the time of day is the anchor’s');
          }
          // Exactly one calendar month apart.
          const s = new Date(c.start);
          const e = new Date(c.end);
          assert.equal(
            (e.getUTCFullYear() - s.getUTCFullYear()) * 12 + e.getUTCMonth() - s.getUTCMonth(),
            1,
          );
          // The index counts months from the anchor's month.
          assert.equal(
            (s.getUTCFullYear() - a.getUTCFullYear()) * 12 + s.getUTCMonth() - a.getUTCMonth(),
            c.index,
          );
        }),
        { numRuns: 500 },
      );
    });

    it('cycles are contiguous and strictly increasing', () => {
      fc.assert(
        fc.property(instant, fc.integer({ min: -600, max: 1200 }), (anchorMs, i) => {
          const c = cycleAt(anchorMs, i);
          const next = cycleAt(anchorMs, i + 1);
          assert.equal(c.end, next.start);
          assert.ok(c.start < c.end);
          assert.ok(c.end - c.start >= 28 * DAY && c.end - c.start <= 31 * DAY);
          assert.deepEqual(cycleContaining(anchorMs, c.end), next);
          assert.deepEqual(cycleContaining(anchorMs, c.end - 1), c);
        }),
        { numRuns: 500 },
      );
    });
  });
});
