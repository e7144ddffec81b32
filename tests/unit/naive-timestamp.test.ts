import { describe, expect, it } from 'vitest';
import { parseNaiveTimestamp } from '../../examples/flights/legacy-encoder.ts';
import { parseNaiveTimestampByPattern, parseNaiveTimestampMs } from '../../lib/time/naive-timestamp.ts';
import { seededRandom } from '../fixtures/synthetic.ts';

describe('naive timestamps (one parser for the flights and tabular encoders)', () => {
  it('parses a timestamp to epoch ms with UTC maths', () => {
    expect(parseNaiveTimestampMs('2001-03-04T13:45:00')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0));
    expect(parseNaiveTimestampMs('2001-03-04 13:45')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0));
    expect(parseNaiveTimestampMs('2001-03-04T13:45:00.250')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0) + 250);
  });

  it('takes a bare date unless the caller requires the time of day', () => {
    expect(parseNaiveTimestampMs('2001-03-04')).toBe(Date.UTC(2001, 2, 4));
    expect(parseNaiveTimestampMs('2001-03-04', { requireTime: true })).toBeNull();
    // The flights encoder needs the hour, so its parser requires the time.
    expect(parseNaiveTimestamp('2001-03-04')).toBeNull();
    expect(parseNaiveTimestamp('2001-03-04T13:45:00')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0));
  });

  it('refuses zones, impossible dates and out-of-range parts', () => {
    for (const bad of ['2001-03-04T13:45:00Z', '2001-03-04T13:45:00+02:00', '2001-02-30T00:00', '2001-13-01', '2001-03-04T24:00', 'x']) {
      expect(parseNaiveTimestampMs(bad), bad).toBeNull();
    }
  });

  it('reads the full form digit by digit exactly as the pattern reads it (same accepted strings, same values)', () => {
    const random = seededRandom(3);
    const pick = (xs: string) => xs[Math.floor(random() * xs.length)]!;
    const edge = ['0000', '0004', '0099', '0100', '1900', '1999', '2000', '2001', '2004', '2100', '2400', '9999'];
    const cases = [
      '2001-03-04T13:45:00',
      '2001-03-04 13:45:00',
      '2004-02-29T00:00:00',
      '2001-02-29T00:00:00',
      '1900-02-29T00:00:00',
      '0004-02-29T23:59:59',
    ];
    for (let i = 0; i < 20_000; i++) {
      const two = (max: number) => String(Math.floor(random() * max)).padStart(2, '0');
      let s = `${random() < 0.5 ? edge[Math.floor(random() * edge.length)] : String(Math.floor(random() * 10_000)).padStart(4, '0')}-${two(14)}-${two(33)}${pick('T T')}${two(25)}:${two(61)}:${two(61)}`;
      // Now and then one character replaced by something that may or may not belong there.
      if (random() < 0.3) {
        const at = Math.floor(random() * s.length);
        s = s.slice(0, at) + pick('0123456789-: TtZ+/.x\u0660') + s.slice(at + 1);
      }
      cases.push(s);
    }
    for (const s of cases) expect(parseNaiveTimestampMs(s), s).toBe(parseNaiveTimestampByPattern(s));
  });
});
